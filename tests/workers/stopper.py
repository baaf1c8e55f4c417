"""Asks to be replaced on its first request (worker-side stop), then keeps looping.

Later requests are echoed; the loop ends on the server's stop command (exit 0).
With ``STOP_ONCE_FILE`` set, only the first process to create that file asks
to stop; the others (its replacements) just echo, so a retried request can
succeed.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from relays.worker import Worker


def should_stop() -> bool:
    marker = os.environ.get("STOP_ONCE_FILE")
    if not marker:
        return True
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


worker = Worker.create()
first = True
while (payload := worker.wait_payload()) is not None:
    if first:
        first = False
        if should_stop():
            worker.stop()
            continue
    worker.respond(payload)
