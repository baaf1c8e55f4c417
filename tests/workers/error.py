"""Answers every request with an ERROR frame: the soft error path (worker is kept)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from relays.worker import Worker

worker = Worker.create()
while (payload := worker.wait_payload()) is not None:
    worker.error("boom from python: " + payload.body.decode("utf-8", "replace"))
