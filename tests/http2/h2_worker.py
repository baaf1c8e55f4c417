"""The HTTP/2 tests' worker (relays.http.HttpWorker): what tests/workers/http_app.py has not.

* ``/trailers``  a streamed body, then a ``X-Checksum`` trailer (declared in ``Trailer``)
* ``/big``       ``?mib=N``: N MiB of a known pattern in 256 KiB chunks
* ``/midcrash``  two chunks of a stream, then the worker dies (the server must reset the stream)
* anything else: the route of http_app.py (echo, digest, stream, hints...)
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workers"))

import http_app

from relays.http import HttpWorker, Request

PATTERN = bytes(range(256)) * 1024  # 256 KiB


def big_body(mib: int) -> bytes:
    """What ``/big?mib=N`` sends (the test compares with this)."""
    return PATTERN * (4 * mib)


def handle(http: HttpWorker, request: Request) -> None:
    query = {k: v[-1] for k, v in parse_qs(request.query).items()}
    if request.path == "/trailers":
        parts = [b"part-1\n", b"part-2\n"]
        digest = hashlib.sha256(b"".join(parts)).hexdigest()
        headers = {
            "Trailer": ["X-Checksum"],
            "X-Checksum": [digest],
            "Content-Type": ["text/plain"],
        }
        http.respond(200, iter(parts), headers)
    elif request.path == "/big":
        mib = int(query.get("mib", "1"))
        http.respond(200, (PATTERN for _ in range(4 * mib)), {"Content-Type": ["x/bytes"]})
    elif request.path == "/midcrash":

        def chunks() -> Iterator[bytes]:
            yield b"first\n"
            yield b"second\n"
            os._exit(3)

        http.respond(200, chunks())
    else:
        http_app.handle(http, request)


def main() -> None:
    http = HttpWorker()
    while (request := http.wait_request()) is not None:
        handle(http, request)


if __name__ == "__main__":
    main()
