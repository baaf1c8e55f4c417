"""Streams N chunks (N = the request body, default 20), then a final "done" frame.

The context may be JSON ``{"delay": seconds}`` to pace the chunks, which makes
cancellation over sockets (where the worker polls instead of pinging) observable.
The first chunk carries the context ``HDR``, later ones none, like PHP.
"""

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from relays.payload import Payload
from relays.worker import StreamStopped, Worker

worker = Worker.create()
while (payload := worker.wait_payload()) is not None:
    count = int(payload.body or b"20")
    delay = float(json.loads(payload.context or b"{}").get("delay", 0))
    try:
        for i in range(count):
            worker.respond(
                Payload(f"chunk-{i}".encode(), b"HDR" if i == 0 else b""), end_of_stream=False
            )
            if delay:
                time.sleep(delay)
        worker.respond(Payload(b"done"))
    except StreamStopped:
        print(f"stream stopped before chunk {i}", file=sys.stderr, flush=True)
