"""Where a request waits: one greenlet per client connection, reading, serving, sending.

* every request is read WHOLE (body included) before the handler runs, in this same greenlet,
  so a slow client never reaches the handler and never holds a worker;
* keep-alive and pipelining: every request already in the buffer is answered, in order;
* while the handler runs, an io watcher on the idle socket sets the writer's ``client_gone``
  when the peer leaves, so a request waiting for a worker, or a stream, can be abandoned
  (RoadRunner cancels the request context the same way);
* a non-streamed response leaves in ONE ``send`` on the raw socket (gevent's ``sendall`` only
  when the kernel buffer is full).
"""

from __future__ import annotations

import contextlib
import socket
import time
from typing import TYPE_CHECKING, Any

import gevent
from gevent import getcurrent

from actors.plugins.http.server.request import HttpRequest
from actors.plugins.http.server.request_parser import RECV_SIZE, RequestParser
from actors.plugins.http.server.response import ResponseWriter
from actors.plugins.http.server.response_head import simple_response

if TYPE_CHECKING:
    from actors.plugins.http.server.listener import HttpServer

__all__ = ["Connection"]

#: Requests served back to back without the connection ever waiting before it yields the hub.
_FAIR_BATCH = 4
#: After an error response, how long the unread rest of the request is drained before closing.
#: Closing with unread data makes the kernel send a RST, which can destroy the error response
#: before the client reads it (Go waits 500 ms for the same reason: ``rstAvoidanceDelay``).
_LINGER = 1.0
#: ... and at most this many bytes of it (Go's ``maxPostHandlerReadBytes``): a client still
#: pushing a body over ``max_request_size`` must not make the server read it all.
_LINGER_BYTES = 256 * 1024


class Connection(RequestParser):
    """One client connection: the request loop, the ``client_gone`` watcher and the send path.

    The parser protocol (the llhttp callbacks) comes from :class:`RequestParser`.
    """

    __slots__ = (
        "_fd",
        "_hub",
        "_raw",
        "_rtimer",
        "_rtimer_after",
        "_rwatch",
        "_timeout",
        "_watcher",
        "_writer",
        "dead",
        "greenlet",
        "idle",
        "sock",
    )

    def __init__(self, server: HttpServer, sock: Any, addr: tuple[str, int]) -> None:
        super().__init__(server, addr)
        self.sock = sock
        self._raw = getattr(sock, "_sock", sock)
        self._fd = sock.fileno()
        self._timeout: float | None = None
        self._watcher: Any = None
        #: The read watcher and timeout timer of :meth:`_recv_wait` (made on first use).
        self._rwatch: Any = None
        self._rtimer: Any = None
        self._rtimer_after = -1.0
        self._hub: Any = None
        self._writer: ResponseWriter | None = None
        self.dead = False
        self.idle = False
        self.greenlet: Any = None

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> None:
        """Serve requests until the peer leaves, a limit is hit, or the server stops."""
        try:
            self._loop()
        except gevent.GreenletExit:
            pass
        except Exception:
            self.server.logger.exception("http: connection from %s failed", self.addr)
        finally:
            self.close()

    def _loop(self) -> None:
        raw = self._raw
        server = self.server
        ready = self._ready
        eager = 0
        # Whether to try a read before waiting.  On a new connection the request is usually
        # there already.  Right after an answer it cannot be (a client sends its next request
        # once it has read this answer; pipelined ones are in the parser's buffer already), so
        # a read would only fail with EAGAIN, an exception and a syscall per request.
        try_first = True
        while True:
            data: bytes | None = None
            if try_first:
                try:
                    data = raw.recv(RECV_SIZE)
                except BlockingIOError:
                    pass
                except OSError:
                    return
                else:
                    if self._in_message and time.monotonic() > self._read_deadline():
                        self._answer_error(408, "")  # a trickle that never needs to wait
                        return
                    eager += 1
                    if eager >= _FAIR_BATCH:
                        # Nothing blocked for a while: yield, or one fast client starves the rest.
                        eager = 0
                        gevent.sleep(0)
            if data is None:
                eager = 0
                if self._in_message:
                    timeout = self._read_deadline() - time.monotonic()
                    if timeout <= 0:
                        self._answer_error(408, "")
                        return
                else:
                    if server.stopping:
                        return
                    timeout = server.keepalive_timeout
                    self.idle = True
                try:
                    data = self._recv_wait(timeout)
                except BlockingIOError:
                    try_first = False
                    continue  # woken without data (it went elsewhere): wait again
                except OSError:
                    return
                finally:
                    self.idle = False
                if data is None:
                    if self._in_message:
                        self._answer_error(408, "")
                    return
            if not data:
                return
            self._feed(data)
            if not ready and not self._in_message and self._error is None:
                self._begin_message()  # a request line cut before its URL (see on_url)
            try_first = not ready
            while ready:
                if not self._serve(ready.popleft()):
                    return
            if self._error is not None:
                self._answer_error(*self._error)
                return
            if self._continue:
                self._continue = False
                if not self.send(b"HTTP/1.1 100 Continue\r\n\r\n", None):
                    return

    def _serve(self, request: HttpRequest) -> bool:
        """Run the handler for one request; return whether the connection stays open."""
        server = self.server
        writer = ResponseWriter(self, request, request.keep_alive and not server.stopping)
        self._writer = writer
        access_log = server.access_log
        started = time.monotonic() if access_log is not None else 0.0
        watch = not self._ready and not self._in_message
        if watch:
            # Watch the idle socket while the handler runs: a libev io watcher started and
            # stopped per request costs far less than a greenlet, and needs no recv usually.
            watcher = self._watcher
            if watcher is None:
                watcher = self._watcher = gevent.get_hub().loop.io(self._fd, 1)
            watcher.start(self._on_readable)
        server.inflight += 1
        try:
            server.handler(request, writer)
        except Exception:
            server.logger.exception(
                "http: handler failed for %s %r", request.method, request.target
            )
            writer.handler_failed()
        finally:
            server.inflight -= 1
            if watch:
                self._watcher.stop()
            self._writer = None
        if not writer.finished:
            try:
                writer.finish()
            except Exception:
                server.logger.exception("http: finishing the response failed")
                writer.keep_alive = False
        if access_log is not None:
            try:
                access_log(request, writer.status, writer.bytes_sent, time.monotonic() - started)
            except Exception:
                server.logger.exception("http: access log callback failed")
        return writer.keep_alive and not self.dead

    def _recv_wait(self, timeout: float) -> bytes | None:
        """The next bytes once the socket is readable; None if ``timeout`` expired first.

        Raises ``BlockingIOError`` when woken without data (the loop recomputes its deadline
        and waits again) and ``OSError`` when the peer is gone.  The TLS connection overrides
        this: its bytes must be decrypted, so readability of the descriptor says nothing.

        The read watcher and the timer belong to the connection and are reused for every wait:
        gevent's ``socket.recv`` would try a ``recv`` that cannot succeed yet and build a
        :class:`gevent.Timeout` per wait, about 7 us of the hub's time per request.
        """
        watcher = self._rwatch
        timer = self._rtimer
        if watcher is None:
            self._hub = gevent.get_hub()
            watcher = self._rwatch = self._hub.loop.io(self._fd, 1)
        if timer is None or self._rtimer_after != timeout:
            if timer is not None:
                timer.close()
            timer = self._rtimer = self._hub.loop.timer(max(timeout, 0.0))
            self._rtimer_after = timeout
        # The watchers switch straight back into this greenlet (no Waiter: about 3,000 fewer
        # instructions per wait).  That is safe because both are stopped before this greenlet
        # does anything else, and stopping a libev watcher also drops its pending event, so
        # neither can switch in later.
        switch = getcurrent().switch
        watcher.start(switch, True)
        timer.start(switch, False)
        try:
            ready: bool = self._hub.switch()
        finally:
            watcher.stop()
            timer.stop()
        if not ready:
            return None
        data: bytes = self._raw.recv(RECV_SIZE)
        return data

    # -- client_gone watcher -----------------------------------------------------------------

    def _on_readable(self) -> None:
        # Runs in the hub: must not block, hence the raw socket and MSG_DONTWAIT.
        try:
            data = self._raw.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        self._watcher.stop()
        if not data:
            writer = self._writer
            if writer is not None:
                writer.client_gone.set()
        # else: the next pipelined request arrived; it stays in the kernel buffer for _loop.

    # -- sending -------------------------------------------------------------------------------

    def send(self, data: bytes, writer: ResponseWriter | None) -> bool:
        """``sendall`` that never raises: a failure marks the connection dead, the client gone."""
        if self.dead:
            return False
        try:
            # One non-blocking send on the raw socket nearly always takes the whole response;
            # gevent's sendall (a timer and a wait) is only needed when the kernel buffer is full.
            try:
                sent = self._raw.send(data)
            except BlockingIOError:
                sent = 0
            if sent < len(data):
                timeout = self.server.write_timeout
                if timeout != self._timeout:
                    self.sock.settimeout(timeout)
                    self._timeout = timeout
                self.sock.sendall(memoryview(data)[sent:])
        except OSError:  # EPIPE, ECONNRESET, timeout (a client that stopped reading)
            self.dead = True
            if writer is not None:
                writer.client_gone.set()
            return False
        if writer is not None:
            writer.bytes_sent += len(data)
        return True

    def _answer_error(self, status: int, detail: str) -> None:
        """Answer a request that never reached the handler, then close without an RST."""
        sock = self.sock
        if self._timeout != self.server.write_timeout:
            sock.settimeout(self.server.write_timeout)
            self._timeout = self.server.write_timeout
        if not self.send(simple_response(status, detail), None):
            return
        try:
            sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + _LINGER
            budget = _LINGER_BYTES
            while budget > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                sock.settimeout(left)
                got = len(sock.recv(min(RECV_SIZE, budget)))
                if not got:
                    break
                budget -= got
        except OSError:
            pass

    def close(self) -> None:
        for name in ("_watcher", "_rwatch", "_rtimer"):
            watcher = getattr(self, name)
            if watcher is not None:
                watcher.stop()
                watcher.close()
                setattr(self, name, None)
        with contextlib.suppress(OSError):
            self.sock.close()
        self.server.connection_closed(self)
