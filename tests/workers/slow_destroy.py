"""Ignores the stop command: sleeps 60 s instead of exiting (the server must SIGKILL it)."""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from relays.worker import Worker

worker = Worker.create()
while (payload := worker.wait_payload()) is not None:
    worker.respond(payload)
time.sleep(60)
