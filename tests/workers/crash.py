"""Dies (exit status 1, no answer) as soon as it receives a request."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from relays.worker import Worker

worker = Worker.create()
if worker.wait_payload() is not None:
    os._exit(1)
