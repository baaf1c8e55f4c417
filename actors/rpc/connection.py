"""One client connection: many calls, each in its own greenlet, replies in completion order.

The reader greenlet turns frames into calls; a call greenlet resolves the method, decodes
the argument, runs the method and writes the reply under the connection's write lock, so
two replies never interleave on the wire.  Replies carry the request's sequence number, so
a fast call may answer before a slow one sent earlier (net/rpc does the same; clients match
by sequence).  What a peer can make the server hold is bounded: one frame of at most
``max_frame`` bytes being read, and at most ``max_calls`` calls in flight (the reader stops
reading until one finishes).
"""

from __future__ import annotations

import contextlib
import logging

import gevent
import gevent.lock
import gevent.pool
from gevent import socket

from actors.rpc.codecs import decode_argument, encode_result
from actors.rpc.errors import CallError, ServiceError, WireError
from actors.rpc.registry import ServiceRegistry
from actors.rpc.wire import Request, decode_request, encode_error, encode_reply
from relays.frame import FrameError, FrameReader, RelayClosedError

__all__ = ["RpcConnection"]

log = logging.getLogger("greenrunner.rpc")

_MAX_READ = 1 << 20


class RpcConnection:
    """Serves the calls of one accepted socket until the peer leaves or :meth:`close`."""

    def __init__(
        self,
        sock: socket.socket,
        registry: ServiceRegistry,
        peer: str,
        max_frame: int,
        max_calls: int,
    ) -> None:
        self.sock = sock
        self.peer = peer
        self._registry = registry
        self._reader = FrameReader(self._recv)
        self._reader.max_payload = max_frame
        self._calls = gevent.pool.Pool(max_calls)
        self._write_lock = gevent.lock.Semaphore()
        self._closed = False

    def _recv(self, n: int) -> bytes:
        """Read for the frame reader; a socket closed by :meth:`close` reads as EOF."""
        try:
            return self.sock.recv(min(n, _MAX_READ))
        except OSError as exc:
            if self._closed:
                return b""
            raise RelayClosedError(f"reading from rpc client {self.peer}: {exc}") from exc

    def serve(self) -> None:
        """Read and dispatch calls; on EOF or a bad frame, finish the calls, then close."""
        graceful = True
        try:
            while not self._closed:
                request = decode_request(self._reader.read_frame())
                self._calls.spawn(self._call, request)  # waits while max_calls run
        except RelayClosedError:
            pass
        except (FrameError, WireError) as exc:
            log.warning(
                "rpc client %s sent a malformed frame, closing its connection: %s",
                self.peer,
                exc,
                extra={"fields": {"peer": self.peer}},
            )
        except gevent.GreenletExit:
            graceful = False
            raise
        finally:
            # As net/rpc: calls already read still get their replies, then the socket closes.
            if graceful and not self._closed:
                self._calls.join()
            self.close()

    def stop_reading(self) -> None:
        """Read no more calls (the server is stopping); calls in flight may still reply."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RD)

    def close(self) -> None:
        """Close the socket and abandon the calls in flight (their replies are dropped).

        Safe from a call greenlet too: that one is left to finish on its own.
        """
        self._closed = True
        current = gevent.getcurrent()
        for call in list(self._calls):
            if call is not current:
                call.kill(block=False)
        self.sock.close()

    def _call(self, request: Request) -> None:
        """Serve one call and write its reply; whatever happens, the client gets an answer."""
        method = request.method
        try:
            fn = self._registry.resolve(method)
            argument = decode_argument(request.codec, request.body, method)
            flags, body = encode_result(request.codec, fn(argument), method)
            data = encode_reply(request.seq, request.method_bytes, flags, body)
        except CallError as exc:
            level = logging.DEBUG if isinstance(exc, ServiceError) else logging.INFO
            log.log(level, "rpc call %s failed: %s", method, exc)
            data = encode_error(request.seq, request.method_bytes, request.codec, str(exc))
        except (Exception, gevent.Timeout) as exc:  # a method's bug must not cost the client
            # (gevent.Timeout is a BaseException: one leaking from a method would otherwise
            # end this greenlet without a reply, and the client would wait forever.)
            log.exception("rpc method %s raised", method)
            text = str(exc) or type(exc).__name__
            data = encode_error(request.seq, request.method_bytes, request.codec, text)
        self._send(data)

    def _send(self, data: bytes) -> None:
        """Write one whole reply; a client gone meanwhile ends the connection, not the server."""
        with self._write_lock:
            if self._closed:
                return
            try:
                self.sock.sendall(data)
            except OSError as exc:
                log.debug("rpc client %s is gone, reply dropped: %s", self.peer, exc)
                self.close()
