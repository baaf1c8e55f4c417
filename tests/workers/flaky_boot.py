"""Fails at boot while the file named by ``FAIL_FLAG`` exists; otherwise answers its pid."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from relays import Payload, Worker

flag = os.environ.get("FAIL_FLAG", "")
if flag and os.path.exists(flag):
    sys.stderr.write("flaky_boot: refusing to start while the flag file exists\n")
    sys.exit(1)

worker = Worker.create()
while worker.wait_payload() is not None:
    worker.respond(Payload(str(os.getpid()).encode()))
