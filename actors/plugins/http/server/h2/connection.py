"""One HTTP/2 client connection: frames in, a greenlet per stream, frames out.

* the connection's own greenlet reads and feeds ``h2``, then dispatches its events; a request
  body is buffered whole (as on HTTP/1.1: no worker waits for a slow upload) and acknowledged
  as it arrives, so the client's upload window keeps moving; ``max_request_size`` answers 413
  and resets the stream;
* each complete request runs the SAME handler as HTTP/1.1, in a greenlet of its own, with a
  :class:`~.writer.StreamWriter`;
* sending: every greenlet that queued frames calls :meth:`H2Connection.flush`; only one
  ``sendall`` runs at a time and it also takes whatever other greenlets queued meanwhile, so
  frames never interleave and nobody waits behind a lock;
* the stream limit is ``max_concurrent_streams`` (SETTINGS), header blocks are bounded by
  ``max_header_size`` (SETTINGS_MAX_HEADER_LIST_SIZE, 431 past it).
"""

from __future__ import annotations

import contextlib
import socket
import time
from typing import TYPE_CHECKING, Any

import gevent
import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

from actors.plugins.http.server.h2.request import (
    RequestHeadError,
    build_request,
    header_list_size,
)
from actors.plugins.http.server.h2.writer import StreamWriter, h2_headers
from actors.plugins.http.server.request import HttpRequest
from actors.plugins.http.server.response_head import simple_response

if TYPE_CHECKING:
    from actors.plugins.http.server.listener import HttpServer

__all__ = ["CONNECTION_WINDOW", "STREAM_WINDOW", "H2Connection"]

#: Receive windows: how much a client may send before we acknowledge.  Go's server uses 1 MiB
#: for both; 64 KiB (the protocol's default) makes a large upload crawl on any real latency.
STREAM_WINDOW = 1 << 20
CONNECTION_WINDOW = 1 << 20
#: Bytes per read.
_RECV = 65536
#: After a GOAWAY for an error, how long and how much of what the client still sends is read
#: before closing (as the HTTP/1.1 connection does after an error answer).
_LINGER = 1.0
_LINGER_BYTES = 256 * 1024


class _Timeout(Exception):
    """Our own timer's exception (``gevent.Timeout`` with a class), never seen outside."""


class _Incoming:
    """A request whose body is still arriving."""

    __slots__ = ("headers", "parts", "size")

    def __init__(self, headers: list[tuple[bytes, bytes]]) -> None:
        self.headers = headers
        self.parts: list[bytes] = []
        self.size = 0


class H2Connection:
    """Serves one HTTP/2 connection (TLS with ALPN ``h2``, or h2c) until it ends."""

    __slots__ = (
        "_closed",
        "_handlers",
        "_incoming",
        "_reading",
        "_sending",
        "_writers",
        "addr",
        "dead",
        "greenlet",
        "h2",
        "idle",
        "scheme",
        "server",
        "sock",
    )

    def __init__(
        self, server: HttpServer, sock: Any, addr: tuple[str, int], *, scheme: str = "http"
    ) -> None:
        self.server = server
        self.sock = sock
        self.addr = addr
        self.scheme = scheme
        # Outbound fields are built clean by ``h2_headers`` (the HTTP/1.1 writer's rules), so
        # h2's own per-field checks would only cost time on every response.
        config = h2.config.H2Configuration(
            client_side=False,
            header_encoding=None,
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
        )
        conn = h2.connection.H2Connection(config=config)
        codes = h2.settings.SettingCodes
        conn.local_settings = h2.settings.Settings(
            client=False,
            initial_values={
                codes.MAX_CONCURRENT_STREAMS: server.max_concurrent_streams,
                codes.MAX_HEADER_LIST_SIZE: server.max_header_size,
                codes.INITIAL_WINDOW_SIZE: STREAM_WINDOW,
            },
        )
        self.h2 = conn
        self._decoder_limit()
        self.greenlet: Any = None
        self.idle = False
        self.dead = False
        self._closed = False
        self._reading = False
        self._sending = False
        self._incoming: dict[int, _Incoming] = {}
        self._writers: dict[int, StreamWriter] = {}
        self._handlers: set[gevent.Greenlet] = set()

    @property
    def closed(self) -> bool:
        """True once the connection is closed or lost: nothing more can be sent."""
        return self._closed or self.dead

    # -- the read loop -------------------------------------------------------------------------

    def run(self) -> None:
        """Read and dispatch until the peer leaves, a limit is hit, or the server stops."""
        try:
            self._loop()
        except gevent.GreenletExit:
            pass
        except Exception:
            self.server.logger.exception("http: HTTP/2 connection from %s failed", self.addr)
        finally:
            self.close()
            handlers = list(self._handlers)
            try:
                gevent.joinall(handlers)  # they see client_gone and stop soon
            finally:
                gevent.killall([g for g in handlers if not g.dead], block=False)

    def _loop(self) -> None:
        conn = self.h2
        server = self.server
        conn.initiate_connection()
        conn.increment_flow_control_window(CONNECTION_WINDOW - 65535)
        self.flush()
        while not self.dead:
            busy = bool(self._incoming or self._writers)
            if server.stopping and not busy:
                return
            if self._incoming:
                timeout: float | None = server.read_timeout
            elif busy:
                timeout = None  # handlers run: their own limits apply
            else:
                timeout = server.keepalive_timeout
            self.idle = not busy
            self._reading = True
            try:
                with gevent.Timeout(timeout, _Timeout):
                    data = self.sock.recv(_RECV)
            except _Timeout:
                return
            except OSError:
                self.dead = True
                return
            finally:
                self._reading = False
                self.idle = False
            if not data:
                self.dead = True
                return
            try:
                events = conn.receive_data(data)
            except h2.exceptions.ProtocolError as exc:
                server.logger.debug("http: HTTP/2 protocol error from %s: %s", self.addr, exc)
                self._goaway(_error_code(exc))
                return
            for event in events:
                self._dispatch(event)
            self.flush()

    def _dispatch(self, event: h2.events.Event) -> None:
        if self.dead:
            return  # ended by an earlier event of the same read (GOAWAY sent)
        if isinstance(event, h2.events.RequestReceived):
            self._on_request(event)
        elif isinstance(event, h2.events.DataReceived):
            self._on_data(event)
        elif isinstance(event, h2.events.StreamEnded):
            self._on_end(event.stream_id)
        elif isinstance(event, h2.events.StreamReset):
            self._incoming.pop(event.stream_id, None)
            writer = self._writers.get(event.stream_id)
            if writer is not None:
                writer.gone()
        elif isinstance(event, h2.events.WindowUpdated):
            if event.stream_id:
                writer = self._writers.get(event.stream_id)
                if writer is not None:
                    writer.window_changed()
            else:
                self._wake_all()
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            self._wake_all()
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.dead = True
        elif isinstance(event, h2.events.SettingsAcknowledged):
            self._decoder_limit()  # h2 lowers it to the advertised size on the ACK

    def _decoder_limit(self) -> None:
        """Let HPACK decode header blocks up to twice ``max_header_size``, so that a block over
        the limit is answered 431 on its stream (as Go does) instead of killing the whole
        connection; past twice the limit it does (ENHANCE_YOUR_CALM)."""
        self.h2.decoder.max_header_list_size = 2 * self.server.max_header_size

    def _on_request(self, event: h2.events.RequestReceived) -> None:
        sid = event.stream_id
        headers = event.headers or []
        open_body = event.stream_ended is None
        if header_list_size(headers) > self.server.max_header_size:
            self._reject(sid, 431, reset=open_body)
            return
        self._incoming[sid] = _Incoming(list(headers))
        if open_body and (b"expect", b"100-continue") in headers:
            with contextlib.suppress(h2.exceptions.ProtocolError):
                self.h2.send_headers(sid, [(b":status", b"100")])

    def _on_data(self, event: h2.events.DataReceived) -> None:
        sid = event.stream_id
        assert sid is not None
        if event.flow_controlled_length:
            # Acknowledge at once: the body is ours now, so the client may send more.
            self.h2.acknowledge_received_data(event.flow_controlled_length, sid)
        incoming = self._incoming.get(sid)
        if incoming is None or event.data is None:
            return
        incoming.size += len(event.data)
        limit = self.server.max_request_size
        if limit and incoming.size > limit:
            del self._incoming[sid]
            self._reject(sid, 413, reset=event.stream_ended is None)
            return
        incoming.parts.append(event.data)

    def _on_end(self, sid: int | None) -> None:
        assert sid is not None
        incoming = self._incoming.pop(sid, None)
        if incoming is None:
            return
        parts = incoming.parts
        body = parts[0] if len(parts) == 1 else b"".join(parts)
        try:
            request = build_request(incoming.headers, body, self.addr, self.scheme)
        except RequestHeadError as exc:
            self.server.logger.debug("http: HTTP/2 stream %d refused: %s", sid, exc)
            self._reject(sid, 400, reset=False)
            return
        if len(self._writers) >= self._handler_limit():
            # Handlers still running for streams the client already closed or reset: a client
            # that opens and resets streams in a loop ("rapid reset", CVE-2023-44487) would
            # otherwise start handlers without bound, while max_concurrent_streams only counts
            # open streams.  Go's server does the same accounting and also ends the connection.
            self.server.logger.warning(
                "http: HTTP/2 client %s has %d requests in flight for at most %d open streams; "
                "closing the connection (ENHANCE_YOUR_CALM)",
                self.addr,
                len(self._writers),
                self.server.max_concurrent_streams,
            )
            self._goaway(h2.errors.ErrorCodes.ENHANCE_YOUR_CALM)
            return
        writer = StreamWriter(self, sid, request)
        self._writers[sid] = writer
        greenlet = gevent.spawn(self._serve, request, writer)
        self._handlers.add(greenlet)

    def _handler_limit(self) -> int:
        """Requests in flight one connection may have: twice the stream limit, as a handler
        may still be finishing after its stream closed (its client already saw the end)."""
        return 2 * max(self.server.max_concurrent_streams, 1)

    def _reject(self, sid: int | None, status: int, *, reset: bool) -> None:
        """Answer a request that never reaches the handler (400, 413, 431), then, if the client
        is still sending, reset the stream (RFC 9113 §8.1: NO_ERROR after a full response)."""
        assert sid is not None
        body = simple_response(status).partition(b"\r\n\r\n")[2]
        head = [("content-type", "text/plain; charset=utf-8"), ("content-length", str(len(body)))]
        try:
            self.h2.send_headers(sid, h2_headers(status, head, date=True))
            self.h2.send_data(sid, body, end_stream=True)
            if reset:
                self.h2.reset_stream(sid, h2.errors.ErrorCodes.NO_ERROR)
        except h2.exceptions.ProtocolError:
            pass

    # -- streams ---------------------------------------------------------------------------------

    def _serve(self, request: HttpRequest, writer: StreamWriter) -> None:
        """One stream's handler, in its own greenlet (as HTTP/1.1's ``Connection._serve``)."""
        server = self.server
        access_log = server.access_log
        started = time.monotonic() if access_log is not None else 0.0
        server.inflight += 1
        try:
            try:
                server.handler(request, writer)
            except Exception:
                server.logger.exception(
                    "http: handler failed for %s %r", request.method, request.target
                )
                writer.handler_failed()
            if not writer.finished:
                writer.finish()
        except Exception:
            server.logger.exception("http: finishing the HTTP/2 response failed")
            writer.abort()
        finally:
            server.inflight -= 1
            self._writers.pop(writer.stream_id, None)
            self._handlers.discard(gevent.getcurrent())
        if access_log is not None:
            try:
                access_log(request, writer.status, writer.bytes_sent, time.monotonic() - started)
            except Exception:
                server.logger.exception("http: access log callback failed")
        if server.stopping and self._reading and not self._writers and not self._incoming:
            # The last stream of a stopping server: end the read so the connection closes.
            self.greenlet.kill(block=False)

    def reset_stream(self, sid: int, code: h2.errors.ErrorCodes) -> None:
        """RST_STREAM ``sid`` (a handler's abort, a stuck writer); quiet if already closed."""
        with contextlib.suppress(h2.exceptions.ProtocolError):
            self.h2.reset_stream(sid, code)
        self.flush()

    def _wake_all(self) -> None:
        for writer in self._writers.values():
            writer.window_changed()

    # -- sending ---------------------------------------------------------------------------------

    def flush(self) -> None:
        """Send what ``h2`` has queued.  One sender at a time: a greenlet finding another one
        sending returns at once, the sender takes the new bytes in its next round."""
        if self._sending:
            return
        self._sending = True
        try:
            while not self.dead:
                data = self.h2.data_to_send()
                if not data:
                    return
                try:
                    with gevent.Timeout(self.server.write_timeout, _Timeout):
                        self.sock.sendall(data)
                except (OSError, _Timeout):
                    self._lost()
                    return
        finally:
            self._sending = False

    def _goaway(self, code: int) -> None:
        """End the connection for an error: GOAWAY with ``code``, then stop writing and drain
        what the client still sends for a moment, so that closing does not reset the
        connection (an RST can destroy the GOAWAY before the client reads it)."""
        with contextlib.suppress(h2.exceptions.ProtocolError):
            self.h2.close_connection(error_code=code)
        self.flush()
        self._lost(close=False)
        try:
            self.sock.shutdown(socket.SHUT_WR)
            with gevent.Timeout(_LINGER, _Timeout):
                budget = _LINGER_BYTES
                while budget > 0:
                    got = len(self.sock.recv(_RECV))
                    if not got:
                        break
                    budget -= got
        except (OSError, ValueError, _Timeout):
            pass

    def _lost(self, close: bool = True) -> None:
        """The peer is gone (a failed send): every stream's client is gone."""
        self.dead = True
        for writer in list(self._writers.values()):
            writer.gone()
        if close:
            with contextlib.suppress(OSError):
                self.sock.close()

    def close(self) -> None:
        """GOAWAY if the peer is still there, close, and tell the server (idempotent)."""
        if self._closed:
            return
        if not self.dead:
            with contextlib.suppress(h2.exceptions.ProtocolError):
                self.h2.close_connection()
            self.flush()
        self._closed = True
        self.dead = True
        for writer in list(self._writers.values()):
            writer.gone()
        with contextlib.suppress(OSError):
            self.sock.close()
        self.server.connection_closed(self)


def _error_code(exc: h2.exceptions.ProtocolError) -> int:
    code = getattr(exc, "error_code", None)
    return int(code) if code is not None else int(h2.errors.ErrorCodes.PROTOCOL_ERROR)
