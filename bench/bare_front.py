"""The floor of ``bench/http.py``: a gevent StreamServer with httptools answering in-process.

No worker, no context, no pool: it parses each request with the same C parser as
Greenrunner's front (httptools) and answers ``Hello, World!`` with the same head the
Greenrunner hello carries, one ``sendall`` per response.  Its CPU per request is what any
gevent HTTP front on this machine must spend; ``bench/http.py`` prints Greenrunner's CPU
per request as a multiple of it (goal: at most 3x).

    python bench/bare_front.py PORT
"""

from __future__ import annotations

import socket
import sys
import time
from email.utils import formatdate

from gevent.server import StreamServer
from gevent.socket import socket as gsocket
from httptools import HttpRequestParser

BODY = b"Hello, World!"


_cache: list[object] = [0, b""]


def _response() -> bytes:
    """The whole response; its Date header is rebuilt once a second, as servers do."""
    now = int(time.time())
    if _cache[0] != now:
        _cache[0] = now
        _cache[1] = (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n"
            b"Date: " + formatdate(now, usegmt=True).encode() + b"\r\n\r\n" + BODY
        )
    out = _cache[1]
    assert isinstance(out, bytes)
    return out


class _Conn:
    """httptools callbacks: count complete requests; the loop answers them in order."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = 0

    def on_message_complete(self) -> None:
        self.done += 1


def handle(sock: gsocket, _addr: tuple[str, int]) -> None:
    """Read, parse, answer every complete request with one send, until the client closes."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn = _Conn()
    parser = HttpRequestParser(conn)
    recv, sendall = sock.recv, sock.sendall
    try:
        while True:
            data = recv(65536)
            if not data:
                return
            parser.feed_data(data)
            if conn.done:
                sendall(_response() * conn.done)
                conn.done = 0
    except (OSError, ValueError):
        return
    finally:
        sock.close()


def main() -> None:
    port = int(sys.argv[1])
    StreamServer(("127.0.0.1", port), handle, backlog=1024).serve_forever()


if __name__ == "__main__":
    main()
