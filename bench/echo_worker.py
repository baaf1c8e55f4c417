"""The benchmark's worker: the SDK echo loop, nothing else."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from relays.worker import Worker

worker = Worker.create()
while (payload := worker.wait_payload()) is not None:
    worker.respond(payload)
