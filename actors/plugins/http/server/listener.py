"""The listener: a gevent ``StreamServer`` that runs one :class:`Connection` per client.

It knows nothing about workers: ``actors/plugins/http/plugin.py`` passes a :data:`Handler`.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Any

import gevent
from gevent.server import StreamServer

from actors.plugins.http.server.connection import Connection
from actors.plugins.http.server.request import HttpRequest
from actors.plugins.http.server.response import ResponseWriter

__all__ = ["AccessLog", "Handler", "HttpServer"]

_log = logging.getLogger("greenrunner.http")

#: What the server calls for every complete request, in the connection's greenlet.
Handler = Callable[[HttpRequest, ResponseWriter], None]
#: Called after every response: ``(request, status, bytes_sent, elapsed_seconds)``.
AccessLog = Callable[[HttpRequest, int, int, float], None]


class HttpServer:
    """The listener: accepts connections and runs one :class:`Connection` greenlet per client.

    ``access_log``, when given, is called after every response as
    ``access_log(request, status, bytes_sent, elapsed_seconds)``; nothing is timed or logged per
    request when it is ``None``.  ``max_request_size`` is in bytes, 0 means unlimited.
    ``write_timeout`` bounds each ``sendall`` (a client that stops reading is dropped).
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
        access_log: AccessLog | None = None,
        logger: logging.Logger | None = None,
        backlog: int = 1024,
    ) -> None:
        self.handler = handler
        self.max_request_size = max_request_size
        self.max_header_size = max_header_size
        self.keepalive_timeout = keepalive_timeout
        self.read_timeout = read_timeout
        self.write_timeout = write_timeout
        self.access_log = access_log
        self.logger = logger or _log
        #: Requests currently inside the handler.
        self.inflight = 0
        self._listen = (host, port)
        self._backlog = backlog
        self._server: StreamServer | None = None
        self._address: tuple[str, int] = (host, port)
        self._conns: set[Connection] = set()
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
        with contextlib.suppress(OSError):  # a unix socket, or the peer is already gone
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Connection(self, sock, (addr[0], addr[1]))  # IPv6 gives a 4-tuple
        conn.greenlet = gevent.getcurrent()
        if self.stopping:
            conn.close()
            return
        self._conns.add(conn)
        conn.run()

    def connection_closed(self, conn: Connection) -> None:
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
