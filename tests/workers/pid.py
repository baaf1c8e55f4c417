"""Answers every request with its own pid (decimal ASCII)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from relays.payload import Payload
from relays.worker import Worker

worker = Worker.create()
while worker.wait_payload() is not None:
    worker.respond(Payload(str(os.getpid()).encode()))
