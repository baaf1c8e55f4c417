"""Answers a request with text instead of a frame (stdout interception off),
the way a PHP `echo` or a C extension's printf breaks the pipes relay mid-request.

Only the first worker to create the file named by ``JUNK_ONCE_FILE`` does it,
so the replacement serves normally."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from relays import Payload, Worker

worker = Worker.create(intercept_stdout=False)
first = True
while worker.wait_payload() is not None:
    if first:
        first = False
        try:
            os.close(os.open(os.environ["JUNK_ONCE_FILE"], os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            pass
        else:
            os.write(1, b"Warning: something printed in the middle of a request\n")
            continue
    worker.respond(Payload(str(os.getpid()).encode()))
