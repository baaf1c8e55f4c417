"""Greenrunner's HTTP/1.1 front alone: the hello answered in-process by the server's handler.

No pool, no worker, no request context: what ``actors/plugins/http/server`` costs per request,
to set beside ``bench/bare_front.py`` (the floor) and the whole server in
``bench/instructions.py``.

    python bench/front_only.py PORT
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == HERE:
    del sys.path[0]  # bench/h2.py and bench/http.py would shadow the h2 and http packages
sys.path.insert(0, str(HERE.parent))

import gevent  # noqa: E402

from actors.plugins.http.server.listener import HttpServer  # noqa: E402
from actors.plugins.http.server.request import HttpRequest  # noqa: E402
from actors.plugins.http.server.writer import Writer  # noqa: E402

HEADERS = (("Content-Type", "text/plain"),)


def hello(_req: HttpRequest, resp: Writer) -> None:
    """The same answer as the WSGI hello, from a tuple of headers (the cached case)."""
    resp.start(200, HEADERS)
    resp.finish(b"Hello, World!")


def main() -> None:
    server = HttpServer("127.0.0.1", int(sys.argv[1]), hello, max_request_size=1 << 20)
    server.start()
    gevent.wait()


if __name__ == "__main__":
    main()
