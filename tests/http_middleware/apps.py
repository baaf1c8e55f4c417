"""The WSGI app of tests/http_middleware (``python -m relays.wsgi tests.http_middleware.apps:app``).

Routes (the PHP worker in ``workers/mw_worker.php`` has the first four too):

* ``/echo``            JSON: ``REMOTE_ADDR`` and every ``HTTP_*`` key the app saw
* ``/text?n=N``        N bytes of compressible text/plain
* ``/sendfile?path=P`` ``X-Sendfile: P`` (``&type=T`` adds a Content-Type) and a decoy body
* ``/stream?n=N``      N streamed chunks ``wsgi-i`` padded to 100 bytes
* ``/png?n=N``         N bytes declared ``image/png`` (already compressed: never gzipped)
* ``/encoded``         a body the app says is ``br``-encoded (must not be compressed twice)
* anything else        404 ``from worker <path>``
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


def _stream(start_response: StartResponse, n: int) -> Iterator[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    for i in range(n):
        yield f"wsgi-{i}".ljust(99).encode() + b"\n"


def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """One route per scenario, see the module docstring."""
    path = environ["PATH_INFO"]
    query = {k: v[-1] for k, v in parse_qs(environ["QUERY_STRING"]).items()}
    if path == "/echo":
        data = {k: v for k, v in environ.items() if k.startswith("HTTP_") or k == "REMOTE_ADDR"}
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(data).encode()]
    if path == "/text":
        n = int(query.get("n", "4096"))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [(b"wsgi says hello\n" * (n // 16 + 1))[:n]]
    if path == "/sendfile":
        headers = [("X-Sendfile", query.get("path", ""))]
        if "type" in query:
            headers.append(("Content-Type", query["type"]))
        start_response(query.get("status", "200 OK"), headers)
        return [b"worker body, never sent"]
    if path == "/stream":
        return _stream(start_response, int(query.get("n", "10")))
    if path == "/png":
        start_response("200 OK", [("Content-Type", "image/png")])
        return [b"\x89PNG" + b"\x00" * (int(query.get("n", "4096")) - 4)]
    if path == "/encoded":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Encoding", "br")])
        return [b"pretend-brotli " * 200]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [f"from worker {path}".encode()]
