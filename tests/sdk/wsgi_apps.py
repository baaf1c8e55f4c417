"""WSGI applications for the adapter tests (run by ``python -m relays.wsgi``)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs

Environ = dict[str, Any]


class Tracked:
    """An iterable whose close() is reported on stderr."""

    def __init__(self, chunks: Iterable[bytes], label: str) -> None:
        self.chunks = chunks
        self.label = label

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.chunks)

    def close(self) -> None:
        print(f"closed {self.label}", file=sys.stderr, flush=True)


def _chunks(n: int, delay: float) -> Iterator[bytes]:
    for i in range(n):
        yield f"c{i};".encode()
        if delay:
            time.sleep(delay)


def _fail_after(n: int) -> Iterator[bytes]:
    for i in range(n):
        yield f"ok{i};".encode()
    raise ValueError("mid-stream failure")


def app(environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ["PATH_INFO"]
    q = {k: v[0] for k, v in parse_qs(environ["QUERY_STRING"]).items()}
    if path == "/chunks":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Tracked(_chunks(int(q.get("n", "3")), float(q.get("delay", "0"))), path)
    if path == "/one-chunk":
        start_response("200 OK", [])
        return Tracked(iter([b"only"]), path)
    if path == "/empty":
        start_response("204 No Content", [])
        return Tracked(iter([]), path)
    if path == "/headers":
        start_response("200 OK", [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-One", "1")])
        return [b"h"]
    if path == "/exc-info":
        start_response("200 OK", [("X-Before", "1")])
        try:
            raise KeyError("handled")
        except KeyError:
            start_response("503 Service Unavailable", [("X-After", "1")], sys.exc_info())
        return [b"replaced"]
    if path == "/fail-mid-stream":
        start_response("200 OK", [])
        return Tracked(_fail_after(2), path)
    if path == "/fail-first-chunk":
        start_response("200 OK", [])
        return Tracked(_fail_after(0), path)
    if path == "/no-start-response":
        return [b"oops"]
    if path == "/unicode-path":
        start_response("200 OK", [])
        return [environ["PATH_INFO"].encode("latin-1")]
    if path == "/lazy":

        def gen() -> Iterator[bytes]:
            start_response("202 Accepted", [("X-Lazy", "yes")])
            yield b"late headers"

        return gen()
    start_response("404 Not Found", [])
    return [b"nope"]
