"""Keeps 10 MiB more memory after every request (for memory supervision tests)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from relays.payload import Payload
from relays.worker import Worker

STEP = 10 << 20
hoard: list[bytes] = []
worker = Worker.create()
while worker.wait_payload() is not None:
    hoard.append(b"\x01" * STEP)  # written, so the pages count in RSS
    worker.respond(Payload(str(len(hoard) * STEP).encode()))
