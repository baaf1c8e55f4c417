"""Greenrunner's HTTP/1.1 front alone: the hello answered in-process by the server's handler.

No pool, no worker, no request context: what ``actors/plugins/http/server`` costs per request,
to set beside ``bench/bare_front.py`` (the floor) and the whole server in
``bench/instructions.py``.

    python bench/front_only.py PORT
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gevent

from actors.plugins.http.server.listener import HttpServer
from actors.plugins.http.server.request import HttpRequest
from actors.plugins.http.server.writer import Writer

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
