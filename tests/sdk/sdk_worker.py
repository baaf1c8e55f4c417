"""An http worker written directly against :class:`relays.http.HttpWorker` (for tests)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from relays.http import HttpWorker


def _fail() -> Iterator[bytes]:
    yield b"first;"
    raise RuntimeError("generator failed")


def main() -> None:
    http = HttpWorker()
    while (req := http.wait_request()) is not None:
        if req.path == "/early":
            http.respond_informational(103, {"Link": ["</s.css>; rel=preload"]})
            http.respond(200, b"final", {"Content-Type": "text/plain"})
        elif req.path == "/error":
            http.error("application said no")
        elif req.path == "/gen-fail":
            try:
                http.respond(200, _fail())
            except RuntimeError:
                http.error("ignored: the stream is already closed")
        elif req.path == "/stream-str":
            http.respond(200, iter(["a", "b"]), {"X": "y"})
        else:
            http.respond(
                200,
                json.dumps(
                    {
                        "method": req.method,
                        "uri": req.uri,
                        "path": req.path,
                        "query": req.query,
                        "headers": req.headers,
                        "cookies": req.cookies,
                        "remote_addr": req.remote_addr,
                        "protocol": req.protocol,
                        "body": req.body.decode("latin-1"),
                        "parsed": req.parsed,
                        "uploads": req.uploads,
                        "attributes": req.attributes,
                        "user_agent": req.header("user-agent"),
                        "query_params": req.query_params(),
                    }
                ).encode(),
                {"Content-Type": ["application/json"]},
            )


if __name__ == "__main__":
    main()
