"""The listener: a gevent ``StreamServer`` that runs one :class:`Connection` per client.

It knows nothing about workers: ``actors/plugins/http/plugin.py`` passes a :data:`Handler`.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Callable
from typing import Any, Protocol

import gevent
from gevent.server import StreamServer

from actors.plugins.http.server.connection import Connection
from actors.plugins.http.server.h2.h2c import serve_h2c
from actors.plugins.http.server.request import HttpRequest
from actors.plugins.http.server.tls import serve_tls
from actors.plugins.http.server.writer import Writer

__all__ = ["AccessLog", "ClientConnection", "Handler", "HttpServer"]

_log = logging.getLogger("greenrunner.http")

#: At most one "connections refused" log line per this many seconds (a flood of refused
#: connections must not become a flood of log lines).
REFUSED_LOG_INTERVAL = 60.0
#: From the first byte of a request, how long before ``min_body_rate`` applies to its body: slow
#: starts (TCP slow start, a 100-continue round trip, a radio waking up) are not trickles.
BODY_GRACE = 10.0

#: What the server calls for every complete request, in the connection's greenlet.
Handler = Callable[[HttpRequest, Writer], None]
#: Called after every response: ``(request, status, bytes_sent, elapsed_seconds)``.
AccessLog = Callable[[HttpRequest, int, int, float], None]


class ClientConnection(Protocol):
    """What the listener tracks of a connection, whatever its protocol (HTTP/1.1 or 2)."""

    #: The greenlet serving it (killed when idle at stop, or still busy after the timeout).
    greenlet: Any
    #: True while it waits for a new request with nothing in flight.
    idle: bool

    def run(self) -> None:
        """Serve until the peer leaves or the server stops; close the socket at the end."""
        ...

    def close(self) -> None:
        """Close the socket and tell the server (idempotent)."""
        ...


class HttpServer:
    """The listener: accepts connections and runs one :class:`Connection` greenlet per client.

    With ``tls`` (an ``SSLContext``) every connection is TLS and ALPN chooses HTTP/2 or
    HTTP/1.1 (``tls.py``); with ``h2c`` a plain client opening with the HTTP/2 preface gets
    HTTP/2 (``h2/h2c.py``).  Either way each request reaches the same :data:`Handler`.

    ``access_log``, when given, is called after every response as
    ``access_log(request, status, bytes_sent, elapsed_seconds)``; nothing is timed or logged per
    request when it is ``None``.  ``max_request_size`` is in bytes, 0 means unlimited.
    ``write_timeout`` bounds each ``sendall`` (a client that stops reading is dropped).

    Against clients that hold connections for free: a request head must arrive within
    ``header_timeout`` seconds of its first byte, a body must keep an average of
    ``min_body_rate`` bytes/s (0: no check) once ``body_grace`` seconds have passed since the
    request began, the whole request must arrive within ``read_timeout``, and at most
    ``max_connections`` are open at once (0: no limit; more are closed as soon as accepted,
    with one log line per :data:`REFUSED_LOG_INTERVAL`).
    """

    def __init__(
        self,
        host: str,
        port: int,
        handler: Handler,
        *,
        max_request_size: int,
        max_header_size: int = 64 * 1024,
        keepalive_timeout: float = 75.0,
        read_timeout: float = 60.0,
        write_timeout: float = 60.0,
        header_timeout: float = 10.0,
        min_body_rate: int = 1024,
        body_grace: float = BODY_GRACE,
        max_connections: int = 10_000,
        access_log: AccessLog | None = None,
        logger: logging.Logger | None = None,
        backlog: int = 1024,
        tls: Any = None,
        h2c: bool = False,
        max_concurrent_streams: int = 128,
    ) -> None:
        self.handler = handler
        self.max_request_size = max_request_size
        self.max_header_size = max_header_size
        self.keepalive_timeout = keepalive_timeout
        self.read_timeout = read_timeout
        self.write_timeout = write_timeout
        #: The deadline of a request head: the header timeout, never past the whole request's.
        self.head_timeout = min(header_timeout, read_timeout)
        self.min_body_rate = min_body_rate
        self.body_grace = body_grace
        self.max_connections = max_connections
        #: Connections refused since the last "refused" log line, and when that line was.
        self._refused = 0
        self._refused_logged = -REFUSED_LOG_INTERVAL
        self.access_log = access_log
        self.logger = logger or _log
        #: Requests currently inside the handler.
        self.inflight = 0
        self._listen = (host, port)
        self._backlog = backlog
        self._server: StreamServer | None = None
        self._address: tuple[str, int] = (host, port)
        self._conns: set[ClientConnection] = set()
        #: A ``gevent.ssl.SSLContext`` (``tls.server_context``): every connection is TLS, and
        #: ALPN picks HTTP/2 or HTTP/1.1.  None: plain TCP.
        self.tls = tls
        #: Plain TCP: a client starting with the HTTP/2 preface gets HTTP/2 (prior knowledge).
        self.h2c = h2c
        #: HTTP/2: streams one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS).
        self.max_concurrent_streams = max_concurrent_streams
        #: TLS handshakes in progress (not yet connections, but counted by ``max_connections``).
        self.handshaking = 0
        #: True from :meth:`stop` on: responses then say ``Connection: close``.
        self.stopping = False

    @property
    def address(self) -> tuple[str, int]:
        """The address actually bound (the real port when 0 was asked)."""
        return self._address

    @property
    def connections(self) -> int:
        """Open client connections (idle keep-alive ones included)."""
        return len(self._conns)

    def start(self) -> None:
        """Bind and start accepting; returns at once (accepting runs on the hub)."""
        server = StreamServer(self._listen, self._accept, backlog=self._backlog)
        server.start()
        self._server = server
        self._address = tuple(server.socket.getsockname()[:2])
        self.stopping = False

    def _accept(self, sock: Any, addr: tuple[str, int]) -> None:
        if self.max_connections and len(self._conns) + self.handshaking >= self.max_connections:
            self._refuse(sock)
            return
        with contextlib.suppress(OSError):  # a unix socket, or the peer is already gone
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is not None or self.h2c:
            self._accept_other(sock, (addr[0], addr[1]))
            return
        self.run_connection(Connection(self, sock, (addr[0], addr[1])))  # IPv6: a 4-tuple

    def run_connection(self, conn: ClientConnection) -> None:
        """Track ``conn`` and serve it in this (its own) greenlet."""
        conn.greenlet = gevent.getcurrent()
        if self.stopping:
            conn.close()
            return
        self._conns.add(conn)
        conn.run()

    def _accept_other(self, sock: Any, addr: tuple[str, int]) -> None:
        """TLS (handshake, then ALPN) or h2c (a look at the first bytes): off the plain path,
        which pays nothing for either."""
        if self.tls is not None:
            serve_tls(self, sock, addr)
        else:
            serve_h2c(self, sock, addr)

    def _refuse(self, sock: Any) -> None:
        """Close a connection over ``max_connections`` at once; say so, once per interval."""
        with contextlib.suppress(OSError):
            sock.close()
        self._refused += 1
        now = time.monotonic()
        if now - self._refused_logged >= REFUSED_LOG_INTERVAL:
            self.logger.warning(
                "http: %d new connection(s) closed at once: %d connections are open, the "
                "http.max_connections limit; raise http.max_connections if this load is expected "
                "(next notice in %ds at the earliest)",
                self._refused,
                len(self._conns),
                int(REFUSED_LOG_INTERVAL),
            )
            self._refused = 0
            self._refused_logged = now

    def connection_closed(self, conn: ClientConnection) -> None:
        """Forget ``conn`` (called by the connection itself once its socket is closed)."""
        self._conns.discard(conn)

    def close_idle(self) -> int:
        """Close keep-alive connections waiting for their next request; return how many."""
        idle = [c for c in self._conns if c.idle and c.greenlet is not None]
        for conn in idle:
            conn.greenlet.kill(block=False)
        return len(idle)

    def stop(self, timeout: float) -> None:
        """Stop accepting now, let requests already being read or handled finish (their responses
        carry ``Connection: close``), close idle connections at once, and after ``timeout``
        seconds close whatever is left."""
        self.stopping = True
        if self._server is not None:
            self._server.close()
        self.close_idle()
        greenlets = [c.greenlet for c in list(self._conns) if c.greenlet is not None]
        if greenlets:
            gevent.joinall(greenlets, timeout=max(timeout, 0.0))
        left = [c.greenlet for c in list(self._conns) if c.greenlet is not None]
        if left:
            self.logger.warning(
                "http: closing %d connection(s) still busy after %.1fs", len(left), timeout
            )
            gevent.killall(left, block=True, timeout=1.0)
