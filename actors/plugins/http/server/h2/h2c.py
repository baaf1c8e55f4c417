"""HTTP/2 without TLS on the plain listener (``http.http2.h2c``), by prior knowledge.

A client that knows the server speaks h2c opens with the connection preface
(``PRI * HTTP/2.0...``, RFC 9113 §3.4); anything else is HTTP/1.1.  The first bytes are only
peeked, so whichever side gets the connection reads them itself.  The ``Upgrade: h2c`` dance
of RFC 7540 §3.2 (removed from RFC 9113, and dropped by Go 1.24's server too) is not offered:
such a request is answered as HTTP/1.1.
"""

from __future__ import annotations

import contextlib
import socket
from typing import TYPE_CHECKING, Any

import gevent

from actors.plugins.http.server.connection import Connection
from actors.plugins.http.server.h2.connection import H2Connection

if TYPE_CHECKING:
    from actors.plugins.http.server.listener import HttpServer

__all__ = ["PREFACE", "serve_h2c"]

#: The client connection preface that starts every HTTP/2 connection.
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def serve_h2c(server: HttpServer, sock: Any, addr: tuple[str, int]) -> None:
    """Serve ``sock`` as HTTP/2 if it starts with the preface, else as HTTP/1.1."""
    first = b""
    try:
        # A new connection may wait for its first request as long as an idle keep-alive one.
        with gevent.Timeout(server.keepalive_timeout, TimeoutError):
            while True:
                got = sock.recv(len(PREFACE), socket.MSG_PEEK)
                if not got or len(got) == len(PREFACE) or not PREFACE.startswith(got):
                    first = got
                    break
                if got == first:
                    gevent.sleep(0.005)  # a preface split across packets: wait for the rest
                first = got
    except (OSError, TimeoutError):
        with contextlib.suppress(OSError):
            sock.close()
        return
    if first == PREFACE:
        server.run_connection(H2Connection(server, sock, addr, scheme="http"))
    else:
        server.run_connection(Connection(server, sock, addr))
