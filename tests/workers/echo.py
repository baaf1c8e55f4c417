"""Echo worker: answers each request with the same body, context and codec.

Also the big-payload fixture: it reads the whole request before answering, so
8 MiB each way needs no help from the server beyond not blocking its hub.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from relays.worker import Worker

worker = Worker.create()
while (payload := worker.wait_payload()) is not None:
    worker.respond(payload)
