"""The tcp plugin: one pool, one gevent listener per ``tcp.servers`` entry.

Lifecycle calls (``start``/``stop``) come from the :class:`~actors.system.ActorSystem`
only; connections run in their own greenlets and call :meth:`TcpPlugin.exec`,
so no event of a connection goes through an actor mailbox.  The plugin owns the
table of open connections (uuid → :class:`Connection`); each connection's
greenlet adds and removes only its own entry.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import struct
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event
import gevent.pool
from gevent.server import StreamServer

from actors.errors import PoolError, WorkerError
from actors.plugins.tcp.connection import Connection
from actors.plugins.tcp.service import TcpService
from relays.payload import Payload

if TYPE_CHECKING:
    from actors.config.model import TcpConfig, TcpServerConfig
    from actors.pool import Pool

__all__ = ["TcpPlugin"]

log = logging.getLogger("greenrunner.tcp")

#: The environment RoadRunner gives tcp workers.
WORKER_ENV = {"RR_MODE": "tcp"}
#: Accept queue of each listener: a burst of connections waits here instead of being refused.
_BACKLOG = 4096
#: SO_LINGER on, 0 seconds: close() resets the connection instead of a normal FIN.
_RESET = struct.pack("ii", 1, 0)

_LISTEN_HINTS = {
    errno.EADDRINUSE: "is another server running there? pick another address",
    errno.EADDRNOTAVAIL: "that is not an address of this host; use one of its addresses or 0.0.0.0",
    errno.EACCES: "ports below 1024 need root (or CAP_NET_BIND_SERVICE); pick a higher port",
}


class TcpPlugin:
    """Serves every server of one ``tcp`` section with one pool named ``tcp``."""

    def __init__(self, system: Any, cfg: TcpConfig) -> None:
        self.system = system
        self.cfg = cfg
        self.pool: Pool | None = None
        self.listeners: dict[str, StreamServer] = {}
        #: Open connections by uuid (what ``tcp.Close`` looks up).
        self.connections: dict[str, Connection] = {}
        self.service = TcpService(self)
        self._open: dict[str, int] = dict.fromkeys(cfg.servers, 0)
        self._handlers = gevent.pool.Pool()  # unbounded; StreamServer needs a Pool, not a Group
        # One read buffer for every connection: a read copies out of it before anything
        # else runs on the hub, so 1,000 connections do not each hold read_buf_size bytes.
        self._buffer = memoryview(bytearray(cfg.read_buf_bytes))
        self._stopping = False

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the pool, then the listeners; raises :class:`PoolError` if one cannot listen."""
        self.pool = self.system.new_pool("tcp", self.cfg.pool, env=WORKER_ENV)
        for name, server in self.cfg.servers.items():
            listener = StreamServer(
                (server.host, server.port),
                self._handler(server),
                backlog=_BACKLOG,
                spawn=self._handlers,
            )
            try:
                listener.start()
            except OSError as exc:
                hint = _LISTEN_HINTS.get(exc.errno or 0, f"check tcp.servers.{name}.addr")
                raise PoolError(
                    f"tcp.servers.{name}.addr: cannot listen on {server.addr}: "
                    f"{exc.strerror or exc}; {hint}"
                ) from None
            self.listeners[name] = listener
            log.debug(
                "tcp server listening", extra={"fields": {"server": name, "addr": server.addr}}
            )

    def address(self, server: str) -> tuple[str, int]:
        """The address ``server`` listens on (the real port when its addr asked for port 0)."""
        host, port = self.listeners[server].address[:2]
        return host, port

    def stop(self, timeout: float | None = None) -> None:
        """Stop accepting, end every connection (workers get their ``CLOSE`` events),
        then destroy the pool.  ``timeout`` (default ``pool.destroy_timeout``) bounds the
        wait for the connections."""
        self._stopping = True
        for listener in self.listeners.values():
            listener.close()
        for conn in list(self.connections.values()):
            conn.close()
        wait = self.cfg.pool.destroy_timeout if timeout is None else timeout
        if not self._handlers.join(timeout=wait):
            self._handlers.kill(block=True, timeout=1)
        if self.pool is not None:
            self.pool.destroy(timeout)

    # -- used by connections -----------------------------------------------------------------

    def exec(self, payload: Payload, cancel: gevent.event.Event | None) -> Payload:
        """One event through the pool; stream answers are refused, as in RoadRunner."""
        if self.pool is None:
            raise PoolError("tcp: the pool is not started")
        stream = self.pool.stream(payload, cancel)
        first = next(stream)
        if not stream.done:
            stream.cancel()
            raise WorkerError("streaming is not supported: answer tcp events with one frame")
        return first

    def recv(self, sock: socket.socket, size: int) -> bytes:
        """One read of at most ``size`` bytes (b"" at end of file)."""
        view = self._buffer
        n = sock.recv_into(view, size)
        return bytes(view[:n])

    def forget(self, conn: Connection) -> None:
        """``conn`` closed its socket: it no longer counts, nor can be closed by uuid."""
        if self.connections.pop(conn.uuid, None) is not None:
            self._open[conn.server.name] -= 1

    def close(self, uuid: str) -> None:
        """End connection ``uuid`` if it is open (``tcp.Close``)."""
        conn = self.connections.get(uuid)
        if conn is not None:
            conn.close()

    # -- accepting -------------------------------------------------------------------------

    def _handler(self, server: TcpServerConfig) -> Any:
        def handle(sock: socket.socket, address: Any) -> None:
            if self._stopping:
                sock.close()
                return
            limit = server.max_connections
            if limit and self._open[server.name] >= limit:
                self._refuse(server, sock, address)
                return
            with contextlib.suppress(OSError):  # a client already gone fails later, in serve()
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # Go's default
            conn = Connection(self, server, sock)
            self.connections[conn.uuid] = conn
            self._open[server.name] += 1
            conn.serve()

        return handle

    def _refuse(self, server: TcpServerConfig, sock: socket.socket, address: Any) -> None:
        """Over ``max_connections``: reset the connection (the client sees ECONNRESET,
        not a normal close) and say why in the log; no worker hears of it."""
        log.warning(
            "tcp connection refused: max_connections reached; raise "
            f"tcp.servers.{server.name}.max_connections to accept more",
            extra={
                "fields": {
                    "server": server.name,
                    "remote": f"{address[0]}:{address[1]}",
                    "max_connections": server.max_connections,
                }
            },
        )
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
        finally:
            sock.close()
