"""Sleeps for the number of seconds in the request body, then answers "slept"."""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from relays.payload import Payload
from relays.worker import Worker

worker = Worker.create()
while (payload := worker.wait_payload()) is not None:
    time.sleep(float(payload.body or b"0"))
    worker.respond(Payload(b"slept"))
