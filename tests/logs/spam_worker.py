"""An http worker that writes lines on its stderr on demand (the server logs each one).

* ``/spam?n=N&tag=T``: writes ``T 0`` ... ``T N-1``, one line each, then answers ``spammed``;
* ``/say``: writes :data:`RAW_LINES` as they are (bytes), then answers ``said``;
* anything else: answers ``pong``.

Standard library and the worker SDK only: it runs as the server's worker process.
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import parse_qs

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from relays.http import HttpWorker

#: Lines that raw mode must pass through exactly (non-UTF-8 bytes become ``\\xNN``).
RAW_LINES = [
    b'{"level":"info","msg":"app log","ctx":{"a":1}}',
    b"\ttabs\tand \x1b[31mansi\x1b[0m and 100% %s %(x)d",
    b"   leading and trailing spaces   ",
    b"",
    b"caf\xc3\xa9 \xe2\x82\xac and a stray \xff byte",
    b"x" * 100_000,
    b"last line",
]


def main() -> None:
    http = HttpWorker()
    err = sys.stderr.buffer
    while (request := http.wait_request()) is not None:
        query = {k: v[-1] for k, v in parse_qs(request.query).items()}
        if request.path == "/spam":
            tag = query.get("tag", "line")
            for i in range(int(query.get("n", "1"))):
                err.write(f"{tag} {i}\n".encode())
            err.flush()
            http.respond(200, b"spammed")
        elif request.path == "/say":
            err.write(b"".join(line + b"\n" for line in RAW_LINES))
            err.flush()
            http.respond(200, b"said")
        else:
            http.respond(200, b"pong")


if __name__ == "__main__":
    main()
