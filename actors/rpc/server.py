"""The RPC server: a gevent listener speaking goridge RPC (net/rpc over goridge frames).

``RpcServer("tcp://127.0.0.1:6001", registry)`` serves the registry's services to PHP's
``Spiral\\Goridge\\RPC\\RPC``, the Go ``rr`` CLI and :mod:`relays.rpc`.  It takes plain
arguments, not the config, so the system facade decides when it runs; it must be started and
stopped from a greenlet of the hub that serves it.
"""

from __future__ import annotations

import contextlib
import logging

import gevent
import gevent.pool
from gevent import socket

from actors.rpc.connection import RpcConnection
from actors.rpc.listen import Bound, bind, parse_listen, remove_unix_socket
from actors.rpc.registry import ServiceRegistry
from actors.rpc.wire import MAX_FRAME

__all__ = ["MAX_CALLS", "MAX_CONNECTIONS", "RpcServer"]

log = logging.getLogger("greenrunner.rpc")

#: Calls served at once per connection; a client pipelining more waits for a free slot.
MAX_CALLS = 64
#: Connections served at once; more wait in the kernel's accept backlog.
MAX_CONNECTIONS = 256


class RpcServer:
    """Listens on ``listen`` (``tcp://host:port`` or ``unix:///path``) and serves ``registry``.

    Peer-controlled memory is bounded by ``max_connections * max_calls`` calls and
    ``max_connections`` frames of at most ``max_frame`` bytes being read.
    """

    def __init__(
        self,
        listen: str,
        registry: ServiceRegistry,
        *,
        max_frame: int = MAX_FRAME,
        max_calls: int = MAX_CALLS,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self._listen = parse_listen(listen)
        self.registry = registry
        self.max_frame = max_frame
        self.max_calls = max_calls
        self._bound: Bound | None = None
        self._accepter: gevent.Greenlet | None = None
        self._handlers = gevent.pool.Pool(max_connections)
        self._connections: set[RpcConnection] = set()
        self._stopped = False

    @property
    def address(self) -> str:
        """The DSN clients dial (for ``RR_RPC``): the real port once started on port 0."""
        return (self._bound.address if self._bound is not None else self._listen).raw

    def start(self) -> None:
        """Bind and start accepting; :class:`~actors.rpc.errors.RpcListenError` says what to fix."""
        if self._stopped:
            raise RuntimeError("this RpcServer was stopped; create a new one")
        if self._bound is not None:
            return
        self._bound = bind(self._listen)
        self._accepter = gevent.spawn(self._accept_loop, self._bound)
        log.info("rpc server listening", extra={"fields": {"address": self.address}})

    def _accept_loop(self, bound: Bound) -> None:
        """Accept until stopped; each connection is served by its own greenlet."""
        while True:
            try:
                conn, peer = bound.sock.accept()
            except OSError as exc:
                if self._stopped:
                    return
                # EMFILE and friends: back off instead of spinning, keep accepting.
                log.warning("rpc server accept failed: %s", exc)
                gevent.sleep(0.1)
                continue
            if bound.address.kind == "tcp":
                with contextlib.suppress(OSError):
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            name = "{}:{}".format(*peer[:2]) if isinstance(peer, tuple) else "unix"
            connection = RpcConnection(conn, self.registry, name, self.max_frame, self.max_calls)
            self._handlers.spawn(self._serve, connection)  # waits while max_connections run

    def _serve(self, connection: RpcConnection) -> None:
        """Serve one connection, tracked so that :meth:`stop` can reach it."""
        self._connections.add(connection)
        try:
            connection.serve()
        finally:
            self._connections.discard(connection)

    def stop(self, timeout: float = 1.0) -> None:
        """Stop listening, let calls in flight answer for up to ``timeout`` s, close the rest.

        Returns within about ``timeout`` + 1 s whatever the clients and methods do; the unix
        socket file is removed (if it is still ours).
        """
        if self._stopped:
            return
        self._stopped = True
        bound = self._bound
        if bound is not None:
            bound.sock.close()
        if self._accepter is not None:
            self._accepter.kill(block=True, timeout=1)
        for connection in list(self._connections):
            connection.stop_reading()
        self._handlers.join(timeout=timeout)
        for connection in list(self._connections):
            connection.close()
        self._handlers.kill(block=True, timeout=1)
        if bound is not None:
            remove_unix_socket(bound)
        log.info("rpc server stopped", extra={"fields": {"address": self.address}})

    def __enter__(self) -> RpcServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
