"""Asks to be replaced on its first request (worker-side stop), then keeps looping.

Later requests are echoed; the loop ends on the server's stop command (exit 0).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from relays.worker import Worker

worker = Worker.create()
first = True
while (payload := worker.wait_payload()) is not None:
    if first:
        first = False
        worker.stop()
        continue
    worker.respond(payload)
