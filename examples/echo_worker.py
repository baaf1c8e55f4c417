"""The smallest Python worker: echoes each request body, and says which process answered.

The context carries the worker's pid so ``examples/embed.py`` can show the
requests being spread over the pool.  Standard library plus the SDK only.
"""

import json
import os

from relays import Payload, Worker

worker = Worker.create()
while (request := worker.wait_payload()) is not None:
    context = json.dumps({"pid": os.getpid()}).encode()
    worker.respond(Payload(b"echo: " + request.body, context))
