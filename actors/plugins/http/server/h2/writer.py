"""The :class:`~actors.plugins.http.server.writer.Writer` of one HTTP/2 stream.

Same semantics as the HTTP/1.1 :class:`~..response.ResponseWriter` (nothing raises on a gone
peer; ``start`` only records), framed for HTTP/2: the head is a HEADERS frame, the body DATA
frames sent only within the peer's flow-control window (a slow reader makes the writer wait for
WINDOW_UPDATE, bounded by the write timeout, instead of the server buffering the body),
trailers a last HEADERS frame, ``abort`` an RST_STREAM.  Connection-specific header fields
(``Connection``, ``Transfer-Encoding``...) are dropped, as Go's HTTP/2 server does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import gevent
import gevent.event
import h2.errors
import h2.exceptions

from actors.plugins.http.server.header_names import (
    H_CONN,
    H_DATE,
    H_INVALID,
    H_TE,
    response_name_kind,
)
from actors.plugins.http.server.request import HttpRequest
from actors.plugins.http.server.response_head import Headers, date_line
from actors.plugins.http.server.sendfile import copy_file
from actors.plugins.http.server.writer import RecordedHead

if TYPE_CHECKING:
    from actors.plugins.http.server.h2.connection import H2Connection

__all__ = ["StreamWriter", "h2_headers"]

#: Fields HTTP/2 forbids in a message (RFC 9113 §8.2.2) besides Connection and
#: Transfer-Encoding (classified by ``response_name_kind``): meaningful for one HTTP/1.1 hop.
_HOP_BY_HOP = frozenset({"keep-alive", "proxy-connection", "upgrade"})


def h2_headers(
    status: int | None, headers: Headers, date: bool = False
) -> list[tuple[bytes, bytes]]:
    """A handler's headers as an HTTP/2 field block, sanitised as the HTTP/1.1 writer does:
    names that are not tokens dropped, CR/LF/NUL in values turned into spaces, values UTF-8
    (lone surrogates back to their bytes), names lower-cased, connection-specific fields
    dropped, and a ``date`` added unless the handler gave one (``date=True``)."""
    out: list[tuple[bytes, bytes]] = []
    if status is not None:
        out.append((b":status", b"%d" % status))
    has_date = False
    for name, value in headers:
        kind = response_name_kind(name)
        if kind:
            if kind in (H_INVALID, H_TE, H_CONN):
                continue
            if kind == H_DATE:
                has_date = True
        lname = name.lower()
        if lname in _HOP_BY_HOP or (lname == "te" and value.strip().lower() != "trailers"):
            continue
        if "\n" in value or "\r" in value or "\0" in value:
            value = value.replace("\r", " ").replace("\n", " ").replace("\0", " ")
        try:
            raw = value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raw = value.encode("utf-8", "replace")
        out.append((lname.encode("latin-1"), raw.strip(b" \t")))
    if date and not has_date:
        out.append((b"date", date_line()[6:-2]))
    return out


class StreamWriter(RecordedHead):
    """Writes the response of one stream; created by the connection, used by the handler."""

    __slots__ = (
        "_conn",
        "_head_sent",
        "_headers",
        "_request",
        "_window",
        "bytes_sent",
        "client_gone",
        "finished",
        "keep_alive",
        "started",
        "status",
        "stream_id",
    )

    def __init__(self, conn: H2Connection, stream_id: int, request: HttpRequest) -> None:
        self._conn = conn
        self.stream_id = stream_id
        self._request = request
        self._headers: Headers = []
        self._head_sent = False
        #: Set when the peer's window may have grown (WINDOW_UPDATE, SETTINGS) or the stream died.
        self._window = gevent.event.Event()
        self.client_gone = gevent.event.Event()
        self.started = False
        self.finished = False
        #: Meaningless for one stream (the connection outlives it); kept for the protocol.
        self.keep_alive = True
        self.status = 0
        self.bytes_sent = 0

    @property
    def head_sent(self) -> bool:
        """True once the HEADERS frame is queued (the status can no longer change)."""
        return self._head_sent

    def window_changed(self) -> None:
        """Wake a write waiting for flow-control credit (called by the connection)."""
        self._window.set()

    def gone(self) -> None:
        """The stream was reset or the connection lost: stop writing (called by the connection)."""
        self.client_gone.set()
        self._window.set()

    # -- the Writer protocol -----------------------------------------------------------------

    def send_informational(self, status: int, headers: Headers) -> None:
        """Send a 1xx (not 101) HEADERS frame ahead of the final response."""
        if not 100 <= status < 200 or status == 101:
            raise ValueError(f"not an informational status: {status}")
        if self._head_sent or self.finished:
            raise RuntimeError("informational response after the final response started")
        self._send_headers(h2_headers(status, headers), end=False)

    def write(self, chunk: bytes) -> None:
        """Stream ``chunk`` as DATA frames (the HEADERS frame goes first)."""
        if self.finished:
            raise RuntimeError("write() after finish()")
        if not self.started:
            self.start(200, [])
        data = chunk and self._has_body()
        if not self._head_sent:
            self._send_head(None, flush=not data)
        if data:
            self._send_data(chunk, end=False)

    @property
    def zero_copy(self) -> bool:
        """Always False: file bytes must be cut into DATA frames within the flow-control window."""
        return False

    def send_file(self, fd: int, offset: int, count: int) -> bool:
        """Stream part of a file as DATA frames: chunks read in the thread pool, then written."""
        return copy_file(self, fd, offset, count)

    def finish(self, body: bytes = b"", trailers: Headers | None = None) -> None:
        """End the stream: a last DATA frame (or the HEADERS alone), then trailers if any."""
        if self.finished:
            return
        if not self.started:
            self.start(200, [])
        self.finished = True
        if self.client_gone.is_set():
            return
        length = len(body)  # HEAD reports the length of the body it does not send
        if not self._has_body():
            body = b""
        if not self._head_sent:
            if not body and not trailers:
                self._send_head(length, end=True)
                return
            self._send_head(length, flush=False)  # leaves with the body, in one send
        if trailers:
            if body:
                self._send_data(body, end=False)
            self._send_headers(h2_headers(None, trailers), end=True)
        else:
            self._send_data(body, end=True)

    def abort(self) -> None:
        """Give up: RST_STREAM (CANCEL), nothing more is sent on this stream."""
        self.finished = True
        self._conn.reset_stream(self.stream_id, h2.errors.ErrorCodes.CANCEL)

    def handler_failed(self) -> None:
        """The handler raised: a plain 500 if nothing is out yet, else reset the stream."""
        if not self._head_sent and not self.client_gone.is_set():
            self.started = False
            self.start(500, [("Content-Type", "text/plain; charset=utf-8")])
            self.finished = False
            self.finish(b"Internal Server Error\n")
        elif not self.finished:
            self.finished = True
            self._conn.reset_stream(self.stream_id, h2.errors.ErrorCodes.INTERNAL_ERROR)

    # -- internals ---------------------------------------------------------------------------

    def _has_body(self) -> bool:
        status = self.status
        return not (self._request.method == "HEAD" or status == 204 or status == 304)

    def _send_head(self, length: int | None, end: bool = False, flush: bool = True) -> None:
        headers = self._headers
        if self.status == 304:
            headers = [h for h in headers if h[0].lower() != "content-type"]
        if length is not None:
            # A whole body: its real length, as HTTP/1.1's finish(); HEAD keeps the handler's.
            given = [h for h in headers if h[0].lower() == "content-length"]
            headers = [h for h in headers if h[0].lower() != "content-length"]
            if self._request.method == "HEAD" and self.status not in (204, 304):
                if given:
                    headers.append(given[0])
                elif length:
                    headers.append(("content-length", str(length)))
            elif self._has_body():
                headers.append(("content-length", str(length)))
        self._head_sent = True
        self._send_headers(h2_headers(self.status, headers, date=True), end=end, flush=flush)

    def _send_headers(
        self, block: list[tuple[bytes, bytes]], end: bool, flush: bool = True
    ) -> None:
        conn = self._conn
        if self.client_gone.is_set():
            return
        try:
            conn.h2.send_headers(self.stream_id, block, end_stream=end)
        except h2.exceptions.StreamClosedError:
            self.gone()
            return
        except h2.exceptions.ProtocolError:
            if conn.closed:
                self.gone()
                return
            raise
        self.bytes_sent += sum(len(n) + len(v) for n, v in block)
        if flush:
            conn.flush()

    def _send_data(self, data: bytes, end: bool) -> None:
        """DATA frames within the flow-control windows, waiting for credit when there is none."""
        conn = self._conn
        view = memoryview(data)
        timeout = conn.server.write_timeout
        while True:
            if self.client_gone.is_set():
                return
            try:
                if not view:
                    if end:
                        conn.h2.send_data(self.stream_id, b"", end_stream=True)
                        conn.flush()
                    return
                self._window.clear()
                size = min(
                    len(view),
                    conn.h2.local_flow_control_window(self.stream_id),
                    conn.h2.max_outbound_frame_size,
                )
                if size <= 0:
                    conn.flush()  # what the window allowed leaves before waiting for more
                    if not self._window.wait(timeout):
                        conn.server.logger.info(
                            "http: HTTP/2 stream %d: no flow-control credit for %.0fs, reset "
                            "(a client that stopped reading)",
                            self.stream_id,
                            timeout,
                        )
                        self.finished = True
                        conn.reset_stream(self.stream_id, h2.errors.ErrorCodes.CANCEL)
                        self.gone()
                        return
                    continue
                piece = view[:size]
                view = view[size:]
                conn.h2.send_data(self.stream_id, piece.tobytes(), end_stream=end and not view)
            except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
                # Reset by the peer, or the connection is closing.
                self.gone()
                return
            self.bytes_sent += size
            if not view:
                conn.flush()
                return
