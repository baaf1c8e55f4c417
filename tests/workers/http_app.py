"""The http end-to-end worker (relays.http.HttpWorker): a route per scenario of tests/http_plugin.

Everything a test must verify on the worker side is computed here and sent back, so a test
fails if the server hands the worker something else than what the client sent:

* ``/echo``      the request as the worker decoded it (JSON: remoteAddr, uri, headers, ...)
* ``/raw``       the request body itself (big body round trips)
* ``/digest``    sha256 and length of the request body (chunked uploads)
* ``/upload``    for every uploaded file: name, mime, size, error, and the sha256, size and
                 directory of its ``tmpName`` file, read in the worker during the request
* ``/stream``    ``?n=N&delay=S&marker=PATH``: N chunks ``chunk-i\\n``; when the server stops
                 the stream, PATH is written (the test's proof that the worker noticed)
* ``/sleep``     ``?s=S``: sleeps, then answers its pid
* ``/pid``       the worker's pid
* ``/error``     an ERROR frame (``http.error``), message ``worker says no: <query>``
* ``/crash``     exits without answering
* ``/hints``     103 Early Hints with a Link header, then 200 with its own header
* ``/status``    ``?code=N``: answers with status N (out-of-range statuses included)
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from relays.http import HttpWorker, Request

JSON = {"Content-Type": ["application/json"]}


def _query(request: Request) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(request.query, keep_blank_values=True).items()}


def _leaves(tree: Any) -> list[dict[str, Any]]:
    """Every file description in an uploads tree (dicts with a ``name`` key)."""
    if isinstance(tree, dict):
        if "tmpName" in tree and "name" in tree:
            return [tree]
        return [leaf for value in tree.values() for leaf in _leaves(value)]
    if isinstance(tree, list):
        return [leaf for value in tree for leaf in _leaves(value)]
    return []


def _file_facts(leaf: dict[str, Any]) -> dict[str, Any]:
    facts = {k: leaf.get(k) for k in ("name", "mime", "size", "error")}
    tmp = leaf.get("tmpName") or ""
    try:
        data = Path(tmp).read_bytes()
    except OSError as exc:
        facts["read_error"] = str(exc)
        return facts
    facts["sha256"] = hashlib.sha256(data).hexdigest()
    facts["read_size"] = len(data)
    facts["dir"] = os.path.dirname(tmp)
    return facts


def _stream(http: HttpWorker, request: Request) -> None:
    q = _query(request)
    n = int(q.get("n", "100"))
    delay = float(q.get("delay", "0"))
    marker = q.get("marker")

    def chunks() -> Iterator[bytes]:
        for i in range(n):
            yield f"chunk-{i}\n".encode()
            if delay:
                time.sleep(delay)

    completed = http.respond(200, chunks(), {"Content-Type": ["text/plain"], "X-Stream": ["yes"]})
    if not completed and marker:
        Path(marker).write_text(f"stopped {os.getpid()}\n")


def handle(http: HttpWorker, request: Request) -> None:
    path = request.path
    if path == "/echo":
        body = json.dumps(
            {
                "method": request.method,
                "protocol": request.protocol,
                "remoteAddr": request.remote_addr,
                "uri": request.uri,
                "rawQuery": request.query,
                "headers": request.headers,
                "cookies": request.cookies,
                "parsed": request.parsed,
                "uploads": request.uploads,
                "body_b64": base64.b64encode(request.body).decode(),
                "pid": os.getpid(),
            }
        )
        http.respond(200, body, JSON)
    elif path == "/raw":
        http.respond(200, request.body, {"Content-Type": ["application/octet-stream"]})
    elif path == "/digest":
        digest = hashlib.sha256(request.body).hexdigest()
        http.respond(
            200,
            json.dumps({"sha256": digest, "size": len(request.body), "headers": request.headers}),
            JSON,
        )
    elif path == "/upload":
        files = [_file_facts(leaf) for leaf in _leaves(request.uploads)]
        http.respond(
            200,
            json.dumps({"parsed": request.parsed, "files": files, "uploads": request.uploads}),
            JSON,
        )
    elif path == "/stream":
        _stream(http, request)
    elif path == "/sleep":
        time.sleep(float(_query(request).get("s", "0.5")))
        http.respond(200, str(os.getpid()))
    elif path == "/pid":
        http.respond(200, str(os.getpid()))
    elif path == "/error":
        http.error(f"worker says no: {request.query}")
    elif path == "/crash":
        os._exit(3)
    elif path == "/hints":
        http.respond_informational(103, {"Link": ["</style.css>; rel=preload; as=style"]})
        http.respond(200, b"after hints", {"X-Final": ["yes"]})
    elif path == "/status":
        http.respond(int(_query(request).get("code", "200")), b"odd status")
    else:
        http.respond(404, f"no route {path}")


def main() -> None:
    http = HttpWorker()
    while (request := http.wait_request()) is not None:
        handle(http, request)


if __name__ == "__main__":
    main()
