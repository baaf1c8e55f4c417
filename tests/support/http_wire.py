"""Raw bytes to and from the HTTP front (actors/plugins/http/server/), for its own tests.

Each helper blocks its thread: run it with :func:`tests.support.hub.call` so the server, on the
test's gevent hub, keeps serving meanwhile.  Responses are split with ``http.client``'s own
framing rules, so the tests check the framing a real client relies on.
"""

from __future__ import annotations

import http.client
import io
import socket
from typing import Any

Addr = tuple[str, int]


def read_all(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Read until the peer closes (or ``timeout`` of silence, marked with ``<<timeout>>``)."""
    sock.settimeout(timeout)
    out = b""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return out
            out += data
    except TimeoutError:
        return out + b"<<timeout>>"
    except ConnectionResetError:
        return out + b"<<reset>>"


def exchange(addr: Addr, data: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes on a fresh connection and return everything until the server closes."""
    with socket.create_connection(addr) as sock:
        sock.sendall(data)
        return read_all(sock, timeout)


def read_until(sock: socket.socket, marker: bytes, timeout: float = 5.0) -> bytes:
    """Read until ``marker`` has been seen (or the peer closes)."""
    sock.settimeout(timeout)
    out = b""
    while marker not in out:
        data = sock.recv(65536)
        if not data:
            break
        out += data
    return out


class _Buf(io.BytesIO):
    def close(self) -> None:  # http.client closes fp after each response; keep the stream
        pass


class _FakeSock:
    def __init__(self, data: bytes) -> None:
        self.fp = _Buf(data)

    def makefile(self, *args: Any, **kwargs: Any) -> _Buf:
        return self.fp


def parse_responses(
    data: bytes,
    methods: list[str] | None = None,
) -> list[tuple[int, list[tuple[str, str]], bytes]]:
    """Split raw bytes into (status, headers, body) with http.client's own framing rules."""
    sock = _FakeSock(data)
    out = []
    methods = list(methods or [])
    while sock.fp.tell() < len(data):
        method = methods.pop(0) if methods else "GET"
        resp = http.client.HTTPResponse(sock, method=method)  # type: ignore[arg-type]
        resp.begin()
        body = resp.read()
        out.append((resp.status, resp.getheaders(), body))
        if resp.will_close and resp.status >= 200:
            break
    return out


def get(
    addr: Addr,
    path: str = "/",
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh http.client connection."""
    conn = http.client.HTTPConnection(*addr, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()
