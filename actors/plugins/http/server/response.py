"""Where a response is written: status, headers and body framing for one request.

Nothing here reads the socket; the :class:`~actors.plugins.http.server.connection.Connection`
that created the writer sends its bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import gevent.event

from actors.plugins.http.server.request import HttpRequest
from actors.plugins.http.server.response_head import (
    Headers,
    encode_headers,
    simple_response,
    whole_head,
)
from actors.plugins.http.server.sendfile import copy_file, plain_socket, zero_copy_send
from actors.plugins.http.server.status import status_line
from actors.plugins.http.server.writer import RecordedHead

if TYPE_CHECKING:
    from actors.plugins.http.server.connection import Connection

__all__ = ["ResponseWriter"]

#: Bodies at least this large are sent after the head in a second ``sendall`` instead of being
#: copied into it (with TCP_NODELAY the split costs nothing; the copy costs memory).
_COPY_LIMIT = 256 * 1024

# Framing modes of a response, decided when its head is written.
_M_NONE, _M_BODYLESS, _M_LENGTH, _M_CHUNKED, _M_CLOSE = 0, 1, 2, 3, 4


class ResponseWriter(RecordedHead):
    """Writes one response.  Created by the connection for each request; used by the handler.

    ``start`` only records the status and headers, so the first ``write`` (or ``finish``) sends
    head and data together in one ``sendall``.  Nothing here raises on a dead peer: a failed send
    sets ``client_gone`` and turns the rest into no-ops, because a handler relaying a worker stream
    must be able to stop quietly (RoadRunner then sends the worker a STOP frame).
    """

    __slots__ = (
        "_conn",
        "_headers",
        "_mode",
        "_remaining",
        "_request",
        "bytes_sent",
        "client_gone",
        "finished",
        "keep_alive",
        "started",
        "status",
    )

    def __init__(self, conn: Connection, request: HttpRequest, keep_alive: bool) -> None:
        self._conn = conn
        self._request = request
        self._headers: Headers = []
        self._mode = _M_NONE
        self._remaining = -1
        self.client_gone = gevent.event.Event()
        self.started = False
        self.finished = False
        #: Whether the connection stays open after this response (the handler may clear it).
        self.keep_alive = keep_alive
        self.status = 0
        self.bytes_sent = 0

    @property
    def head_sent(self) -> bool:
        """True once the status line is on the wire (the status can no longer change)."""
        return self._mode != _M_NONE

    def send_informational(self, status: int, headers: Headers) -> None:
        """Send a 1xx response (e.g. 103 Early Hints) ahead of the final one.

        Only its own headers are sent, and they are not carried into the final response (the
        RoadRunner v6 behaviour, ``docs/protocol.md`` "HTTP response context").  101 is
        refused: upgrades are not supported.  An
        HTTP/1.0 client must not receive 1xx (RFC 9110 §15.2), so it is silently skipped.
        """
        if not 100 <= status < 200 or status == 101:
            raise ValueError(f"not an informational status: {status}")
        if self._mode != _M_NONE or self.finished:
            raise RuntimeError("informational response after the final response started")
        if self._request.version == "HTTP/1.0" or self._conn.dead:
            return
        data, _, _ = encode_headers(headers, date=False)
        self._conn.send(status_line(status) + data + b"\r\n", self)

    def write(self, chunk: bytes) -> None:
        """Stream ``chunk`` now (chunked encoding on HTTP/1.1 unless a Content-Length was given;
        close-delimited on HTTP/1.0).  The first call sends the head in the same ``sendall``.
        """
        if self.finished:
            raise RuntimeError("write() after finish()")
        if not self.started:
            self.start(200, [])
        if not chunk or self._conn.dead:
            return
        if self._mode == _M_NONE:
            self._send_stream_head(chunk)
        else:
            self._send_stream_data(chunk, b"")

    def finish(self, body: bytes = b"", trailers: Headers | None = None) -> None:
        """End the response.  When nothing was streamed, head and body leave in one ``sendall``
        with a Content-Length (the real length: one given to ``start`` is only kept on HEAD).
        ``trailers`` (optional) force chunked encoding on HTTP/1.1 so they can follow the body;
        they are dropped where the framing cannot carry them.
        """
        if self.finished:
            return
        if not self.started:
            self.start(200, [])
        self.finished = True
        conn = self._conn
        if conn.dead:
            return
        if self._mode == _M_NONE:
            if trailers and self._request.version != "HTTP/1.0" and self._has_body():
                self._send_stream_head(body)
                if conn.dead:
                    return
                body = b""
            else:
                self._send_whole(body)
                return
        mode = self._mode
        if mode == _M_CHUNKED:
            tail = b"0\r\n"
            if trailers:
                tail += encode_headers(trailers, date=False)[0]
            self._send_stream_data(body, tail + b"\r\n")
        elif mode == _M_LENGTH:
            if body:
                self._send_stream_data(body, b"")
            if self._remaining != 0:
                self.keep_alive = False
        elif mode == _M_CLOSE:
            if body:
                self._send_stream_data(body, b"")
            self.keep_alive = False

    @property
    def zero_copy(self) -> bool:
        """True on a plain TCP (or Unix) socket, where :meth:`send_file` uses ``sendfile(2)``;
        False over TLS, whose bytes OpenSSL must encrypt (``send_file`` then reads chunks)."""
        return plain_socket(self._conn)

    def send_file(self, fd: int, offset: int, count: int) -> bool:
        """Stream ``count`` bytes of ``fd`` from ``offset`` as body, framed as :meth:`write`
        frames a chunk (the head leaves first, on its own); zero-copy when :attr:`zero_copy`.

        Returns False only when the file ended early (the caller aborts: a short body must not
        look complete); a gone client returns True with ``client_gone`` set, as ``write`` would.
        """
        if not self.zero_copy:
            return copy_file(self, fd, offset, count)
        if self.finished:
            raise RuntimeError("send_file() after finish()")
        if not self.started:
            self.start(200, [])
        conn = self._conn
        if conn.dead:
            return True
        if self._mode == _M_NONE:
            self._send_stream_head(b"")
            if conn.dead:
                return True
        mode = self._mode
        if mode == _M_BODYLESS or count <= 0:
            return True
        if mode == _M_LENGTH and count > self._remaining:
            count = self._remaining
            self.keep_alive = False
        elif mode == _M_CHUNKED and not conn.send(b"%x\r\n" % count, self):
            return True
        sent = zero_copy_send(conn, self, fd, offset, count)
        if mode == _M_LENGTH:
            self._remaining -= sent
        if sent < count:
            return conn.dead or self.client_gone.is_set()
        if mode == _M_CHUNKED:
            conn.send(b"\r\n", self)
        return True

    def abort(self) -> None:
        """Give up on this response: nothing more is sent and the connection is closed.

        Closing is the only way to tell a client that a streamed (chunked or close-delimited)
        body is incomplete; if the head was not sent yet the client sees no response at all,
        so a handler that can still answer should check :attr:`head_sent` and send an error.
        """
        self.finished = True
        self.keep_alive = False

    def handler_failed(self) -> None:
        """The handler raised: answer a plain 500 if nothing is on the wire yet, else cut the
        response short (the connection calls this; a handler never needs to)."""
        conn = self._conn
        if not self.head_sent and not conn.dead:
            self.finished = True
            self.status = 500
            self.started = True
            self._mode = _M_BODYLESS
            self.keep_alive = self.keep_alive and not conn.server.stopping
            response = simple_response(
                500, close=not self.keep_alive, head=self._request.method == "HEAD"
            )
            conn.send(response, self)
        elif not self.finished:
            # Mid-stream: the framing cannot be ended cleanly, so the close tells the client.
            self.finished = True
            self.keep_alive = False

    # -- internals -------------------------------------------------------------------------

    def _has_body(self) -> bool:
        status = self.status
        return not (self._request.method == "HEAD" or status == 204 or status == 304)

    def _connection_line(self, length_known: bool) -> bytes:
        """The Connection header Go would send: ``close`` when closing an HTTP/1.1 connection,
        ``keep-alive`` when keeping an HTTP/1.0 one (only possible with a known length)."""
        if self._request.version == "HTTP/1.0":
            if self.keep_alive and length_known:
                return b"Connection: keep-alive\r\n"
            self.keep_alive = False
            return b""
        return b"" if self.keep_alive else b"Connection: close\r\n"

    def _prepare_head(self) -> tuple[bytes, int]:
        headers = self._headers
        if self.status == 304:
            # Go's suppressedHeaders304: a 304 describes the cached representation, not a new one.
            headers = [h for h in headers if h[0].lower() != "content-type"]
        data, clen, close = encode_headers(headers)
        if close or self._conn.server.stopping:
            self.keep_alive = False
        return status_line(self.status) + data, clen

    def _send_whole(self, body: bytes) -> None:
        request = self._request
        status = self.status
        if (
            status != 304
            and status != 204
            and request.method != "HEAD"
            and request.version == "HTTP/1.1"
        ):
            # The usual answer, in one expression: what the general path below computes for
            # it, without its five helper calls (a few us of the hub's time per request).
            head, close = whole_head(status, self._headers)
            conn = self._conn
            if close or conn.server.stopping:
                self.keep_alive = False
            self._mode = _M_BODYLESS
            close_line = b"" if self.keep_alive else b"Connection: close\r\n"
            if len(body) < _COPY_LIMIT:
                conn.send(
                    b"%bContent-Length: %d\r\n%b\r\n%b" % (head, len(body), close_line, body),
                    self,
                )
            elif conn.send(b"%bContent-Length: %d\r\n%b\r\n" % (head, len(body), close_line), self):
                conn.send(body, self)
            return
        head, clen = self._prepare_head()
        if not self._has_body():
            if self._request.method == "HEAD" and self.status not in (204, 304):
                # Go keeps the handler's Content-Length on HEAD, or reports the discarded body.
                if clen >= 0:
                    head += b"Content-Length: %d\r\n" % clen
                elif body:
                    head += b"Content-Length: %d\r\n" % len(body)
            body = b""
        else:
            head += b"Content-Length: %d\r\n" % len(body)
        head += self._connection_line(True) + b"\r\n"
        self._mode = _M_BODYLESS
        if len(body) < _COPY_LIMIT:
            self._conn.send(head + body, self)
        elif self._conn.send(head, self):
            self._conn.send(body, self)

    def _send_stream_head(self, first: bytes) -> None:
        head, clen = self._prepare_head()
        if not self._has_body():
            self._mode = _M_BODYLESS
            if clen >= 0 and self._request.method == "HEAD" and self.status not in (204, 304):
                head += b"Content-Length: %d\r\n" % clen
            first = b""
        elif clen >= 0:
            self._mode = _M_LENGTH
            self._remaining = clen
            head += b"Content-Length: %d\r\n" % clen
            if len(first) > clen:
                first = first[:clen]
                self.keep_alive = False
            self._remaining -= len(first)
        elif self._request.version == "HTTP/1.0":
            self._mode = _M_CLOSE
            self.keep_alive = False
        else:
            self._mode = _M_CHUNKED
            head += b"Transfer-Encoding: chunked\r\n"
            if first:
                first = b"%x\r\n%b\r\n" % (len(first), first)
        head += self._connection_line(self._mode != _M_CLOSE) + b"\r\n"
        self._conn.send(head + first, self)

    def _send_stream_data(self, chunk: bytes, tail: bytes) -> None:
        mode = self._mode
        if mode == _M_CHUNKED:
            if chunk:
                chunk = b"%x\r\n%b\r\n" % (len(chunk), chunk)
            data = chunk + tail
        elif mode == _M_LENGTH:
            if len(chunk) > self._remaining:
                chunk = chunk[: self._remaining]
                self.keep_alive = False
            self._remaining -= len(chunk)
            data = chunk
        elif mode == _M_CLOSE:
            data = chunk
        else:
            return
        if data:
            self._conn.send(data, self)
