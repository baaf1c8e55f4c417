"""Writes text to stdout *before* Worker.create(): corrupts the pipes relay.

flush=True stands for an unbuffered stdout (python -u, PYTHONUNBUFFERED):
output still buffered when Worker.create() runs is diverted to stderr.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

print("hello from the junk worker: this line is not a frame", flush=True)

from relays.worker import Worker  # noqa: E402

worker = Worker.create()
while (payload := worker.wait_payload()) is not None:
    worker.respond(payload)
