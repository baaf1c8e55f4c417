"""Writes a burst to stderr on every request, then answers: a 100 KiB line,
10,000 numbered lines, undecodable bytes, and a line split across writes."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from relays import Payload, Worker

worker = Worker.create()
err = sys.stderr.buffer
while worker.wait_payload() is not None:
    err.write(b"L" * (100 * 1024) + b"\n")
    err.write(b"".join(b"line %d\n" % i for i in range(10_000)))
    err.write(b"bad bytes \xff\xfe end\n")
    err.write(b"split ")
    err.flush()
    err.write(b"line\n")
    err.flush()
    worker.respond(Payload(b"done"))
