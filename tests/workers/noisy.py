"""Writes to stdout in every way it can *after* Worker.create(), then echoes.

With the default ``intercept_stdout`` none of it may reach the pipes relay:
print() and sys.stdout go to stderr, and so does a raw write on fd 1.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from relays.worker import Worker

worker = Worker.create()
while (payload := worker.wait_payload()) is not None:
    print("noise from print()")
    sys.stdout.write("noise from sys.stdout\n")
    sys.stdout.flush()
    os.write(1, b"noise from os.write(1)\n")
    worker.respond(payload)
