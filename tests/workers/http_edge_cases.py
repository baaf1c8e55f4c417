"""An http worker giving the answers that are easy to get wrong on the server side.

* ``/echo``              the request as decoded (headers, uri, rawQuery)
* ``/header``            200 with non-ASCII header values (``café Ω``, ``café``)
* ``/empty-then-error``  a stream whose first frame has a status and no body, then an ERROR frame
* ``/empty-then-crash``  the same first frame, then the process exits
* ``/trailer``           ``Trailer: X-Sum`` and ``X-Sum``: RoadRunner sends X-Sum as a trailer
* ``/sleep``             ``?s=S``: sleeps, then answers ``slept``
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from relays.http import HttpWorker, Request, encode_response_context
from relays.payload import Payload


def _empty_first_chunk(http: HttpWorker) -> None:
    context = encode_response_context(200, {"Content-Type": ["application/json"]})
    http.worker.respond(Payload(b"", context), end_of_stream=False)


def handle(http: HttpWorker, request: Request) -> None:
    path = request.path
    if path == "/echo":
        body = {"headers": request.headers, "uri": request.uri, "rawQuery": request.query}
        http.respond(200, json.dumps(body), {"Content-Type": ["application/json"]})
    elif path == "/header":
        http.respond(200, b"ok", {"X-Name": ["café Ω"], "X-Latin": ["café"]})
    elif path == "/empty-then-error":
        _empty_first_chunk(http)
        http.worker.error("failed after the first chunk")
    elif path == "/empty-then-crash":
        _empty_first_chunk(http)
        os._exit(3)
    elif path == "/trailer":
        headers = {"Trailer": ["X-Sum, X-Absent"], "X-Sum": ["abc"], "X-Keep": ["1"]}
        http.respond(200, b"data", headers)
    elif path == "/sleep":
        time.sleep(float(parse_qs(request.query).get("s", ["0.5"])[0]))
        http.respond(200, b"slept")
    else:
        http.respond(404, f"no route {path}")


def main() -> None:
    http = HttpWorker()
    while (request := http.wait_request()) is not None:
        handle(http, request)


if __name__ == "__main__":
    main()
