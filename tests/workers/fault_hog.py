"""Grows its memory during a request: the body is ``MiB:seconds``.

Allocates (and touches) that many MiB, keeps them, sleeps, then answers its pid, so a
memory limit is crossed while the request is running.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from relays import Payload, Worker

hoard = []
worker = Worker.create()
while (payload := worker.wait_payload()) is not None:
    mib, _, seconds = payload.body.decode().partition(":")
    hoard.append(b"\x01" * (int(mib or 0) << 20))
    time.sleep(float(seconds or 0))
    worker.respond(Payload(str(os.getpid()).encode()))
