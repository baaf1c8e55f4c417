"""Answers every request with its environment as a JSON object."""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from relays.payload import Payload
from relays.worker import Worker

worker = Worker.create()
while worker.wait_payload() is not None:
    worker.respond(Payload(json.dumps(dict(os.environ)).encode()))
