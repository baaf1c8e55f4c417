"""The tcp and unix relays, server side: the server listens, workers connect.

One listener serves every pool.  A connection becomes a worker's relay once
it has answered the pid handshake, and is matched to the spawned process by
that pid, which is why a wrapper that forks (``sh -c``) cannot use sockets.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

import gevent
import gevent.event
import gevent.pool
from gevent import socket

from relays.dsn import RelayAddress
from relays.errors import RelayError, RelayTimeoutError
from relays.frame import FrameError, RelayClosedError
from relays.server.base import Relay
from relays.server.handshake import handshake
from relays.server.listen import Bound, Listen, bind, remove_unix_socket

__all__ = ["SocketListener", "SocketRelay"]

log = logging.getLogger("greenrunner.server")

#: A socket file in the relay's way is replaced, as RoadRunner does (no live check).
_RELAY = Listen(key="server.relay", backlog=512)

_MAX_READ = 1 << 20
# How often wait_for() asks alive() whether the process it waits for still exists.
_ALIVE_POLL = 0.05


class SocketRelay(Relay):
    """Frames over one accepted connection (a gevent socket)."""

    def __init__(self, sock: socket.socket, pid: int = 0, kind: str = "tcp") -> None:
        self.sock = sock
        self.pid = pid
        self.kind = kind
        super().__init__()

    def _gone(self) -> RelayClosedError:
        return RelayClosedError(f"{self.kind} relay to worker pid {self.pid} is closed")

    def _recv(self, n: int) -> bytes:
        if self._closed:
            raise self._gone()
        try:
            return self.sock.recv(min(n, _MAX_READ))
        except OSError as exc:
            if self._closed:
                raise self._gone() from None
            raise RelayClosedError(f"reading from worker pid {self.pid}: {exc}") from exc

    def send(self, data: bytes) -> None:
        """Write all of ``data``; a slow reader parks this greenlet, not the hub."""
        if self._closed:
            raise self._gone()
        try:
            self.sock.sendall(data)
        except OSError as exc:
            if self._closed:
                raise self._gone() from None
            raise RelayClosedError(f"writing to worker pid {self.pid}: {exc}") from exc

    def close(self) -> None:
        """Close the connection; a greenlet parked on it gets RelayClosedError."""
        if not self._closed:
            self._closed = True
            self.sock.close()


class SocketListener:
    """The ``server.relay`` listener for tcp:// and unix:// relays.

    Workers may connect before or after :meth:`wait_for` is called for them;
    either way the relay is handed over once its handshake is done.  A bad
    connection (a port scanner, a worker that hangs up) is logged and dropped
    without disturbing the others.
    """

    def __init__(self, address: RelayAddress, handshake_timeout: float = 10.0) -> None:
        if not address.is_socket:
            raise ValueError(f"SocketListener needs a tcp:// or unix:// relay, not {address.raw}")
        #: The address workers must use; for tcp port 0 it holds the port actually bound.
        self.address = address
        self.handshake_timeout = handshake_timeout
        #: How long a handshaken connection waits for the spawn that owns its pid.  A process
        #: behind a forking wrapper reports a pid nobody spawned: without this limit each retry
        #: of such a misconfigured pool would leave one connection open for good.
        self.unclaimed_timeout = 60.0
        self._sock: socket.socket | None = None
        self._bound: Bound | None = None
        self._accepter: gevent.Greenlet | None = None
        self._handshakes = gevent.pool.Group()
        self._slots: dict[int, gevent.event.AsyncResult] = {}
        #: pid -> until when a connection from it is a late one (its spawn timed out).
        self._abandoned: dict[int, float] = {}
        self._closed = False

    @property
    def env_value(self) -> str:
        """The ``RR_RELAY`` value to give workers (the real port when 0 was configured)."""
        return self.address.raw

    # -- listening -------------------------------------------------------------------

    def start(self) -> None:
        """Bind, listen and start accepting; raises :class:`RelayListenError` with a fix."""
        if self._sock is not None:
            return
        bound = bind(self.address, _RELAY)
        self._bound = bound
        self.address = bound.address  # the real port when 0 was configured
        self._sock = bound.sock
        self._accepter = gevent.spawn(self._accept_loop)
        log.debug("relay listener started", extra={"fields": {"relay": self.address.raw}})

    def _accept_loop(self) -> None:
        sock = self._sock
        assert sock is not None
        while not self._closed:
            try:
                conn, _ = sock.accept()
            except OSError as exc:
                if self._closed:
                    return
                # EMFILE and friends: back off instead of spinning, keep accepting.
                log.warning("socket relay accept failed: %s", exc)
                gevent.sleep(0.1)
                continue
            if self.address.kind == "tcp":
                with contextlib.suppress(OSError):
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._handshakes.spawn(self._handshake, conn)

    def _handshake(self, conn: socket.socket) -> None:
        relay = SocketRelay(conn, 0, self.address.kind)
        stored = False
        try:
            try:
                pid = handshake(relay, self.handshake_timeout)
            except (RelayError, FrameError, RelayClosedError, OSError) as exc:
                log.warning(
                    "socket relay handshake failed, connection dropped: %s",
                    exc,
                    extra={"fields": {"relay": self.address.raw}},
                )
                return
            relay.pid = pid
            if self._closed:
                return
            if self._abandoned.pop(pid, 0.0) > time.monotonic():
                log.warning(
                    "worker pid %d connected after its spawn had timed out; connection dropped",
                    pid,
                )
                return
            slot = self._slots.get(pid)
            if slot is not None and slot.ready():
                # The same pid connected twice: keep the newest, like RoadRunner's map.
                slot.get().close()
                slot = None
            if slot is None:
                # Nobody waits yet (the worker was faster than its spawner, or it is a stray).
                slot = self._slots[pid] = gevent.event.AsyncResult()
                self._handshakes.add(
                    gevent.spawn_later(self.unclaimed_timeout, self._expire, pid, slot)
                )
            slot.set(relay)
            stored = True
        finally:
            if not stored:  # including a kill from close()
                relay.close()

    # -- handing relays over ------------------------------------------------------------

    def wait_for(
        self, pid: int, timeout: float, alive: Callable[[], bool] | None = None
    ) -> SocketRelay:
        """The handshaken relay of worker ``pid``, once it connects.

        Raises :class:`RelayTimeoutError` after ``timeout`` seconds, or as
        soon as ``alive()`` returns False (the process died before connecting:
        no point waiting out the timeout).
        """
        if self._closed:
            raise RelayError(f"the relay listener on {self.address.raw} is closed")
        slot = self._slots.get(pid)
        if slot is None:
            slot = self._slots[pid] = gevent.event.AsyncResult()
        deadline = time.monotonic() + timeout
        try:
            while not slot.ready():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._abandon(pid)
                    raise RelayTimeoutError(
                        f"worker pid {pid} did not connect to {self.address.raw} within "
                        f"{timeout:g}s (its RR_RELAY must match server.relay, and the process "
                        "that connects must be the spawned one: no wrapper that forks)"
                    )
                slot.wait(remaining if alive is None else min(remaining, _ALIVE_POLL))
                if slot.ready():
                    break
                if alive is not None and not alive():
                    raise RelayTimeoutError(
                        f"worker pid {pid} exited before connecting to {self.address.raw}"
                    )
                if self._closed:
                    raise RelayError(f"the relay listener on {self.address.raw} is closed")
            return slot.get()
        finally:
            self._slots.pop(pid, None)

    def _expire(self, pid: int, slot: gevent.event.AsyncResult) -> None:
        current = self._slots.get(pid)
        if current is None or current is not slot:
            return  # claimed (or replaced) in time
        del self._slots[pid]
        relay = current.get()
        if relay is not None:
            relay.close()
        log.warning(
            "worker pid %d connected to %s but no spawn claimed it within %gs; connection "
            "closed (a wrapper that forks, like sh -c, reports its child's pid)",
            pid,
            self.address.raw,
            self.unclaimed_timeout,
        )

    def _abandon(self, pid: int) -> None:
        """Drop a late connection from ``pid``, but only while one can still come.

        The timed-out worker is killed by its spawner, so only a handshake already under way
        can complete, within ``handshake_timeout``.  After that the pid means nothing: the
        kernel reuses pids, and a new worker that got this one must not be turned away.
        """
        now = time.monotonic()
        for old in [p for p, until in self._abandoned.items() if until <= now]:
            del self._abandoned[old]
        self._abandoned[pid] = now + self.handshake_timeout + _ALIVE_POLL

    def close(self) -> None:
        """Stop listening, drop unclaimed connections and remove the unix socket file."""
        if self._closed:
            return
        self._closed = True
        if self._sock is not None:
            self._sock.close()
        if self._accepter is not None:
            self._accepter.kill(block=True, timeout=1)
        self._handshakes.kill(block=True, timeout=1)
        for slot in self._slots.values():
            if slot.ready():
                slot.get().close()
        self._slots.clear()
        if self._bound is not None:
            remove_unix_socket(self._bound)  # only our own: another server may own the path

    def __enter__(self) -> SocketListener:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
