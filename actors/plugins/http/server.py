"""The HTTP/1.1 front: a gevent ``StreamServer`` driving the ``httptools`` (llhttp) parser.

Why not ``gevent.pywsgi``: on this machine type pywsgi answers 724 req/s to keep-alive clients
(headers and body leave in two ``send`` calls and meet Nagle + delayed ACK) and about 4.4k req/s
with ``TCP_NODELAY``; a ``StreamServer`` with the C parser answered 13-17k req/s
(``/work/shared/spec/peers-and-faults.md`` §3).  So this module owns the wire format itself:

* every accepted socket gets ``TCP_NODELAY`` and a non-streamed response leaves in ONE ``sendall``
  (status line, headers and body together);
* one greenlet per connection parses, reads the WHOLE request body, then calls the handler in that
  same greenlet (a slow client never reaches the handler, so it never holds a worker);
* keep-alive and pipelining (every request already in the buffer is answered, in order);
* limits answered the way Go's ``net/http`` (and so RoadRunner) answers them: 400 for malformed
  input, 413 for a body over ``max_request_size``, 431 for an oversized header section, 417 for an
  unknown ``Expect``, 505 for a non-1.x version; each closes the connection and never calls the
  handler;
* ``ResponseWriter.client_gone`` tells the handler that the peer went away, so a request waiting for
  a worker, or a stream, can be abandoned (RR cancels the request context the same way).

It knows nothing about workers: ``actors/plugins/http/plugin.py`` passes a handler.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections import deque
from collections.abc import Callable, Iterable
from email.utils import formatdate
from typing import Any

import gevent
import gevent.event
from gevent.server import StreamServer
from httptools import HttpParserError, HttpParserUpgrade, HttpRequestParser

__all__ = ["Handler", "HttpRequest", "HttpServer", "ResponseWriter", "status_text"]

_log = logging.getLogger("greenrunner.http")

#: Bytes asked from the kernel per ``recv``; also the slack allowed on top of max_header_size while
#: a header section is still incomplete (what llhttp has buffered cannot be measured exactly).
_RECV_SIZE = 65536
#: Bodies at least this large are sent after the head in a second ``sendall`` instead of being
#: copied into it (with TCP_NODELAY the split costs nothing; the copy costs memory).
_COPY_LIMIT = 256 * 1024
#: Requests served back to back without the connection ever waiting before it yields the hub.
_FAIR_BATCH = 4
#: After an error response, how long the unread rest of the request is drained before closing.
#: Closing with unread data makes the kernel send a RST, which can destroy the error response
#: before the client reads it (Go waits 500 ms for the same reason: ``rstAvoidanceDelay``).
_LINGER = 1.0

# Go's http.StatusText (net/http/status.go), so status lines match RoadRunner byte for byte.
_STATUS_TEXT: dict[int, str] = {
    100: "Continue",
    101: "Switching Protocols",
    102: "Processing",
    103: "Early Hints",
    200: "OK",
    201: "Created",
    202: "Accepted",
    203: "Non-Authoritative Information",
    204: "No Content",
    205: "Reset Content",
    206: "Partial Content",
    207: "Multi-Status",
    208: "Already Reported",
    226: "IM Used",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    304: "Not Modified",
    305: "Use Proxy",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    409: "Conflict",
    410: "Gone",
    411: "Length Required",
    412: "Precondition Failed",
    413: "Request Entity Too Large",
    414: "Request URI Too Long",
    415: "Unsupported Media Type",
    416: "Requested Range Not Satisfiable",
    417: "Expectation Failed",
    418: "I'm a teapot",
    421: "Misdirected Request",
    422: "Unprocessable Entity",
    423: "Locked",
    424: "Failed Dependency",
    425: "Too Early",
    426: "Upgrade Required",
    428: "Precondition Required",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    451: "Unavailable For Legal Reasons",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
    506: "Variant Also Negotiates",
    507: "Insufficient Storage",
    508: "Loop Detected",
    510: "Not Extended",
    511: "Network Authentication Required",
}


def status_text(status: int) -> str:
    """Reason phrase for ``status`` as Go writes it (``status code N`` when Go has none)."""
    return _STATUS_TEXT.get(status) or f"status code {status}"


_STATUS_LINES: dict[int, bytes] = {}


def _status_line(status: int) -> bytes:
    """``HTTP/1.1 <code> <reason>\\r\\n``, cached: Go always answers with HTTP/1.1, even to 1.0."""
    line = _STATUS_LINES.get(status)
    if line is None:
        line = f"HTTP/1.1 {status} {status_text(status)}\r\n".encode("latin-1")
        if len(_STATUS_LINES) < 1000:
            _STATUS_LINES[status] = line
    return line


_date_cache: list[Any] = [0, b""]


def _date_line() -> bytes:
    """The ``Date`` header line, formatted at most once per second (Go sends it on every reply)."""
    now = int(time.time())
    if now != _date_cache[0]:
        _date_cache[0] = now
        _date_cache[1] = f"Date: {formatdate(now, usegmt=True)}\r\n".encode("latin-1")
    return _date_cache[1]


# Response header names the writer treats specially.  One dict lookup per header classifies a name
# (and validates it) so header building stays a single loop.
_H_PLAIN, _H_DATE, _H_CLEN, _H_TE, _H_CONN, _H_INVALID = 0, 1, 2, 3, 4, 5
_SPECIAL_RESP = {
    "date": _H_DATE,
    "content-length": _H_CLEN,
    "transfer-encoding": _H_TE,
    "connection": _H_CONN,
}
_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
_resp_name_kind: dict[str, int] = {}
#: The name caches keep at most this many names of at most _NAME_CACHE_LEN characters: names
#: come from clients and workers, and must not pile up (4096 x 64 KiB was 256 MiB, kept forever).
#: A full cache starts over, so the names in use come back at once.
_NAME_CACHE_MAX = 4096
_NAME_CACHE_LEN = 64


def _resp_kind(name: str) -> int:
    kind = _resp_name_kind.get(name)
    if kind is None:
        if name and all(c in _TOKEN_CHARS for c in name):
            kind = _SPECIAL_RESP.get(name.lower(), _H_PLAIN)
        else:
            kind = _H_INVALID
        if len(name) <= _NAME_CACHE_LEN:
            if len(_resp_name_kind) >= _NAME_CACHE_MAX:
                _resp_name_kind.clear()
            _resp_name_kind[name] = kind
    return kind


# Request header names the parser looks at: decoded once and cached with their meaning.
_R_PLAIN, _R_CLEN, _R_EXPECT, _R_HOST = 0, 1, 2, 3
_SPECIAL_REQ = {b"content-length": _R_CLEN, b"expect": _R_EXPECT, b"host": _R_HOST}
_req_names: dict[bytes, tuple[str, int]] = {}


def _req_name(raw: bytes) -> tuple[str, int]:
    entry = _req_names.get(raw)
    if entry is None:
        entry = (raw.decode("latin-1"), _SPECIAL_REQ.get(raw.lower(), _R_PLAIN))
        if len(raw) <= _NAME_CACHE_LEN:
            if len(_req_names) >= _NAME_CACHE_MAX:
                _req_names.clear()
            _req_names[raw] = entry
    return entry


_METHODS: dict[bytes, str] = {}
_VERSIONS = {"1.1": "HTTP/1.1", "1.0": "HTTP/1.0"}


class HttpRequest:
    """One complete request (body included), as the handler receives it.

    Header names and values are latin-1 decoded, i.e. every ``str`` here carries the exact bytes
    received; nothing is canonicalised or merged, the plugin glue decides what RoadRunner does.
    """

    __slots__ = (
        "body",
        "headers",
        "host",
        "keep_alive",
        "method",
        "path",
        "query",
        "remote_addr",
        "target",
        "version",
    )

    def __init__(
        self,
        method: str,
        target: bytes,
        path: bytes,
        query: bytes,
        version: str,
        headers: list[tuple[str, str]],
        body: bytes,
        remote_addr: tuple[str, int],
        keep_alive: bool,
        host: str,
    ) -> None:
        self.method = method
        self.target = target
        self.path = path
        self.query = query
        self.version = version
        self.headers = headers
        self.body = body
        self.remote_addr = remote_addr
        self.keep_alive = keep_alive
        self.host = host

    def header(self, name: str, default: str | None = None) -> str | None:
        """First value of header ``name`` (case-insensitive), for the rare caller that needs one."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return default

    def __repr__(self) -> str:
        return f"<HttpRequest {self.method} {self.target!r} {self.version}>"


Handler = Callable[[HttpRequest, "ResponseWriter"], None]

# Framing modes of a response, decided when its head is written.
_M_NONE, _M_BODYLESS, _M_LENGTH, _M_CHUNKED, _M_CLOSE = 0, 1, 2, 3, 4


_HEAD_CACHE: dict[tuple, tuple[bytes, int, bool, bool]] = {}
_HEAD_CACHE_MAX = 512
#: Larger header blocks are encoded each time: 512 of them could hold hundreds of MiB.
_HEAD_CACHE_ENTRY = 8192


def _encode_headers(headers: list[tuple[str, str]], date: bool = True) -> tuple[bytes, int, bool]:
    """Encode handler headers; an immutable (tuple) header set is encoded once and cached.

    Workers answer the same few header sets over and over, and the http
    plugin hands them over as tuples, so the common case is one dict lookup.
    """
    if type(headers) is tuple:
        hit = _HEAD_CACHE.get(headers)
        if hit is None:
            hit = _encode_header_lines(headers)
            if len(hit[0]) <= _HEAD_CACHE_ENTRY:
                if len(_HEAD_CACHE) >= _HEAD_CACHE_MAX:
                    _HEAD_CACHE.clear()
                _HEAD_CACHE[headers] = hit
        data, clen, close, has_date = hit
    else:
        data, clen, close, has_date = _encode_header_lines(headers)
    if date and not has_date:
        data += _date_line()
    return data, clen, close


def _encode_header_lines(headers: Iterable[tuple[str, str]]) -> tuple[bytes, int, bool, bool]:
    """Validate and encode handler headers in one pass.

    Returns the encoded lines, the handler's Content-Length (-1 if none) and whether it asked for
    ``Connection: close``.  Framing headers (Content-Length, Transfer-Encoding, Connection) are
    removed because this module owns framing; names that are not RFC 9110 tokens are dropped and
    CR/LF in values become spaces, like Go's header writer, so a worker cannot inject headers.
    Values are text and leave as UTF-8, which is what Go writes for the same string: a worker's
    ``é`` must reach the client as the bytes the worker meant, not as latin-1.  Lone surrogates
    (``surrogateescape``, how the response decoders keep non-UTF-8 bytes) become those bytes again.
    """
    lines: list[str] = []
    clen = -1
    close = False
    has_date = False
    for name, value in headers:
        kind = _resp_kind(name)
        if kind:
            if kind == _H_INVALID:
                continue
            if kind == _H_DATE:
                has_date = True
            elif kind == _H_CLEN:
                # ASCII digits only, like Go's ParseInt (Python's int() also takes "1_0").
                digits = value.strip()
                clen = int(digits) if digits.isascii() and digits.isdigit() else -1
                continue
            elif kind == _H_TE:
                continue
            elif kind == _H_CONN:
                if "close" in value.lower():
                    close = True
                continue
        if "\n" in value or "\r" in value:
            value = value.replace("\r", " ").replace("\n", " ")
        lines.append(f"{name}: {value}\r\n")
    text = "".join(lines)
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that stands for no byte (U+D800, ...)
        data = text.encode("utf-8", "replace")
    return data, clen, close, has_date


def _simple_response(
    status: int, detail: str = "", *, close: bool = True, head: bool = False
) -> bytes:
    """A complete plain-text error response in Go's shape (``400 Bad Request: <detail>``).

    ``head``: the answer to a HEAD request, whose body is announced but not sent.
    """
    body = f"{status} {status_text(status)}"
    if detail:
        body += f": {detail}"
    data = body.encode("utf-8")
    lines = (
        _status_line(status)
        + _date_line()
        + b"Content-Type: text/plain; charset=utf-8\r\n"
        + b"Content-Length: %d\r\n" % len(data)
        + (b"Connection: close\r\n" if close else b"")
        + b"\r\n"
    )
    return lines if head else lines + data


class ResponseWriter:
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

    def __init__(self, conn: _Connection, request: HttpRequest, keep_alive: bool) -> None:
        self._conn = conn
        self._request = request
        self._headers: list[tuple[str, str]] = []
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

    def send_informational(self, status: int, headers: list[tuple[str, str]]) -> None:
        """Send a 1xx response (e.g. 103 Early Hints) ahead of the final one.

        Only its own headers are sent, and they are not carried into the final response (the
        RoadRunner v6 behaviour, spec §1.7).  101 is refused: upgrades are not supported.  An
        HTTP/1.0 client must not receive 1xx (RFC 9110 §15.2), so it is silently skipped.
        """
        if not 100 <= status < 200 or status == 101:
            raise ValueError(f"not an informational status: {status}")
        if self._mode != _M_NONE or self.finished:
            raise RuntimeError("informational response after the final response started")
        if self._request.version == "HTTP/1.0" or self._conn.dead:
            return
        data, _, _ = _encode_headers(headers, date=False)
        self._conn.send(_status_line(status) + data + b"\r\n", self)

    def start(self, status: int, headers: list[tuple[str, str]]) -> None:
        """Record the final status and headers; they leave with the first ``write``/``finish``.

        A second call is ignored, like Go's superfluous ``WriteHeader``.  Header values are text,
        sent as UTF-8 (unlike :class:`HttpRequest`'s, which carry the received bytes as latin-1).
        """
        if self.started:
            return
        if not 200 <= status <= 999:
            raise ValueError(f"invalid final status: {status}")
        self.started = True
        self.status = status
        self._headers = headers

    def override(self, status: int, headers: list[tuple[str, str]]) -> None:
        """Replace what :meth:`start` recorded, as long as nothing is on the wire yet.

        For an error found between ``start`` and the first byte of body (a worker whose stream
        began with an empty chunk, then failed): the client must get the error status, not the
        one the failed response had announced.
        """
        if self.head_sent or self.finished:
            raise RuntimeError("override() after the head was sent")
        self.started = False
        self.start(status, headers)

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

    def finish(self, body: bytes = b"", trailers: list[tuple[str, str]] | None = None) -> None:
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
                tail += _encode_headers(trailers, date=False)[0]
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

    def abort(self) -> None:
        """Give up on this response: nothing more is sent and the connection is closed.

        Closing is the only way to tell a client that a streamed (chunked or close-delimited)
        body is incomplete; if the head was not sent yet the client sees no response at all,
        so a handler that can still answer should check :attr:`head_sent` and send an error.
        """
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
        data, clen, close = _encode_headers(headers)
        if close or self._conn.server._stopping:
            self.keep_alive = False
        return _status_line(self.status) + data, clen

    def _send_whole(self, body: bytes) -> None:
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


class _Abort(Exception):
    """Raised inside a parser callback to stop parsing; the connection answers ``_error``."""


class _Connection:
    """One client connection: the parser protocol, the request loop and the send path."""

    __slots__ = (
        "_body",
        "_body_len",
        "_clen",
        "_continue",
        "_deadline",
        "_error",
        "_expect",
        "_fd",
        "_hdr_bytes",
        "_headers",
        "_host",
        "_hosts",
        "_in_headers",
        "_in_message",
        "_raw",
        "_ready",
        "_splice",
        "_stall",
        "_synthetic",
        "_timeout",
        "_upgrade",
        "_upgrade_line",
        "_url",
        "_watcher",
        "_writer",
        "addr",
        "dead",
        "greenlet",
        "idle",
        "parser",
        "server",
        "sock",
    )

    def __init__(self, server: HttpServer, sock: Any, addr: tuple[str, int]) -> None:
        self.server = server
        self.sock = sock
        self.addr = addr
        self._raw = getattr(sock, "_sock", sock)
        self._fd = sock.fileno()
        self.parser = HttpRequestParser(self)
        self._ready: deque[HttpRequest] = deque()
        self._error: tuple[int, str] | None = None
        self._in_message = False
        self._in_headers = False
        self._deadline = 0.0
        self._timeout: float | None = None
        self._continue = False
        self._splice: bytes | None = None
        self._synthetic = False
        self._upgrade = False
        self._upgrade_line: tuple[bytes, str] = (b"", "")
        self._watcher: Any = None
        self._writer: ResponseWriter | None = None
        self.dead = False
        self.idle = False
        self.greenlet: Any = None
        self._reset_message()

    def _reset_message(self) -> None:
        self._url = b""
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self._body_len = 0
        self._clen = -1
        self._expect: str | None = None
        self._host: str | None = None
        self._hosts = 0
        self._hdr_bytes = 0
        self._stall = 0
        self._upgrade = False

    # -- parser callbacks (called from feed_data, in this connection's greenlet) ----------------

    def on_message_begin(self) -> None:
        if self._synthetic:
            return
        self._reset_message()
        self._in_message = True
        self._in_headers = True
        self._deadline = time.monotonic() + self.server.read_timeout

    def on_url(self, url: bytes) -> None:
        if self._synthetic:
            return
        self._url += url
        self._hdr_bytes += len(url)
        if self._hdr_bytes > self.server.max_header_size:
            self._fail(431, "")

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._synthetic or not self._in_headers:
            return  # a synthetic splice header, or a chunked trailer (dropped)
        self._hdr_bytes += len(name) + len(value) + 4
        if self._hdr_bytes > self.server.max_header_size:
            self._fail(431, "")
        sname, kind = _req_name(name)
        svalue = value.decode("latin-1")
        if kind:
            if kind == _R_CLEN:
                self._clen = int(value)  # llhttp has validated the digits and duplicates
            elif kind == _R_HOST:
                self._hosts += 1
                self._host = svalue
            elif kind == _R_EXPECT:
                self._expect = svalue
        self._headers.append((sname, svalue))

    def on_headers_complete(self) -> None:
        if self._synthetic:
            return
        self._in_headers = False
        parser = self.parser
        version = parser.get_http_version()
        if version[0] != "1":
            self._fail(505, "unsupported protocol version")
        is11 = version != "1.0"
        if is11:
            if self._hosts == 0:
                self._fail(400, "missing required Host header")
            if self._hosts > 1:
                self._fail(400, "too many Host headers")
        limit = self.server.max_request_size
        if limit and self._clen > limit:
            self._fail(413, "")
        if self._expect is not None:
            if self._expect.lower() == "100-continue":
                self._continue = is11 and self._clen != 0
            else:
                self._fail(417, "")
        if parser.should_upgrade():
            # httptools makes llhttp skip the body of an upgrade request and stop at it.  We
            # never upgrade; remember how to resume a body so the request is read normally.
            self._upgrade = True
            # The synthetic head below replaces the method and version the parser reports.
            self._upgrade_line = (parser.get_method(), version)
            if self._clen > 0:
                self._splice = b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % self._clen
            elif self._clen < 0 and any(n.lower() == "transfer-encoding" for n, _ in self._headers):
                self._splice = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"

    def on_body(self, body: bytes) -> None:
        self._stall = 0
        self._body_len += len(body)
        limit = self.server.max_request_size
        if limit and self._body_len > limit:
            self._fail(413, "")
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._splice is not None:
            return  # the body follows the upgrade point; _feed resumes it
        parser = self.parser
        if self._synthetic:
            raw_method, v = self._upgrade_line
            self._synthetic = False
        else:
            raw_method = parser.get_method()
            v = parser.get_http_version()
        self._in_message = False
        self._in_headers = False
        self._continue = False
        url = self._url
        if url[:1] == b"/":
            path, _, query = url.partition(b"?")
        else:
            path, query = _split_target(url)
        method = _METHODS.get(raw_method)
        if method is None:
            method = raw_method.decode("latin-1")
            _METHODS[raw_method] = method
        version = _VERSIONS.get(v) or f"HTTP/{v}"
        body = self._body
        body = body[0] if len(body) == 1 else b"".join(body)
        host = self._host
        if host is None:
            h, p = self.server.address
            host = f"{h}:{p}"
        if self._upgrade:
            # llhttp reports an upgrade as "not keep-alive"; we answer it as a plain request.
            keep_alive = version == "HTTP/1.1" and not any(
                n.lower() == "connection" and "close" in v.lower() for n, v in self._headers
            )
        else:
            keep_alive = parser.should_keep_alive()
        self._ready.append(
            HttpRequest(
                method, url, path, query, version, self._headers, body, self.addr, keep_alive, host
            )
        )

    def _fail(self, status: int, detail: str) -> None:
        if self._error is None:
            self._error = (status, detail)
        raise _Abort(status)

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
        sock = self.sock
        raw = self._raw
        server = self.server
        ready = self._ready
        eager = 0
        while True:
            try:
                # Try the raw socket first: with a busy keep-alive client the next request is
                # often already there, and gevent's recv wrapper (timer + wait) is skipped.
                data = raw.recv(_RECV_SIZE)
            except BlockingIOError:
                eager = 0
                if self._in_message:
                    timeout = self._deadline - time.monotonic()
                    if timeout <= 0:
                        self._answer_error(408, "")
                        return
                else:
                    if server._stopping:
                        return
                    timeout = server.keepalive_timeout
                    self.idle = True
                if timeout != self._timeout:
                    sock.settimeout(timeout)
                    self._timeout = timeout
                try:
                    data = sock.recv(_RECV_SIZE)
                except TimeoutError:
                    if self._in_message:
                        self._answer_error(408, "")
                    return
                except OSError:
                    return
                finally:
                    self.idle = False
            except OSError:
                return
            else:
                if self._in_message and time.monotonic() > self._deadline:
                    self._answer_error(408, "")  # a trickle that never needs to wait
                    return
                eager += 1
                if eager >= _FAIR_BATCH:
                    # Nothing blocked for a while: yield, or one fast client starves the rest.
                    eager = 0
                    gevent.sleep(0)
            if not data:
                return
            self._feed(data)
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

    def _feed(self, data: bytes) -> None:
        parser = self.parser
        while True:
            try:
                parser.feed_data(data)
            except HttpParserUpgrade as exc:
                rest = data[exc.args[0] :]
                if self._splice is not None:
                    # An Upgrade request with a body: resume the parser on a synthetic head with
                    # the same framing, whose callbacks append to the pending request.
                    data = self._splice + rest
                    self._splice = None
                    self._synthetic = True
                    continue
                if rest:
                    data = rest
                    continue
                return
            except HttpParserError:
                if self._error is None:
                    self._error = (400, "")
                return
            break
        if self._in_message:
            # httptools accumulates an unfinished header (or trailer) line before any callback
            # sees it, so bound the bytes fed without progress (body bytes reset the count).
            self._stall += len(data)
            if self._stall > self.server.max_header_size + _RECV_SIZE and self._error is None:
                self._error = (431, "") if self._in_headers else (400, "trailer section too large")

    def _serve(self, request: HttpRequest) -> bool:
        """Run the handler for one request; return whether the connection stays open."""
        server = self.server
        writer = ResponseWriter(self, request, request.keep_alive and not server._stopping)
        self._writer = writer
        access_log = server.access_log
        started = time.monotonic() if access_log is not None else 0.0
        watch = not self._ready and not self._in_message
        if watch:
            self._arm_watcher()
        server.inflight += 1
        try:
            server.handler(request, writer)
        except Exception:
            server.logger.exception(
                "http: handler failed for %s %r", request.method, request.target
            )
            if not writer.head_sent and not self.dead:
                writer.finished = True
                writer.status = 500
                writer.started = True
                writer._mode = _M_BODYLESS
                writer.keep_alive = writer.keep_alive and not server._stopping
                response = _simple_response(
                    500, close=not writer.keep_alive, head=request.method == "HEAD"
                )
                self.send(response, writer)
            elif not writer.finished:
                # Mid-stream: the framing cannot be ended cleanly, so the close tells the client.
                writer.finished = True
                writer.keep_alive = False
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

    # -- client_gone watcher -----------------------------------------------------------------

    def _arm_watcher(self) -> None:
        """Watch the idle socket while the handler runs: a libev io watcher started and stopped
        per request costs far less than a greenlet, and needs no ``recv`` in the common case."""
        watcher = self._watcher
        if watcher is None:
            watcher = self._watcher = gevent.get_hub().loop.io(self._fd, 1)
        watcher.start(self._on_readable)

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
        if not self.send(_simple_response(status, detail), None):
            return
        try:
            sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + _LINGER
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                sock.settimeout(left)
                if not sock.recv(_RECV_SIZE):
                    break
        except OSError:
            pass

    def close(self) -> None:
        watcher = self._watcher
        if watcher is not None:
            watcher.stop()
            watcher.close()
            self._watcher = None
        with contextlib.suppress(OSError):
            self.sock.close()
        self.server._conns.discard(self)


def _split_target(url: bytes) -> tuple[bytes, bytes]:
    """Path and query of an absolute-form (proxy) or asterisk/authority-form target."""
    if url == b"*":
        return url, b""
    scheme_end = url.find(b"://")
    if scheme_end < 0:
        return url, b""  # authority-form (CONNECT host:port)
    slash = url.find(b"/", scheme_end + 3)
    if slash < 0:
        rest = b"/"
        q = url.find(b"?", scheme_end + 3)
        return (rest, url[q + 1 :]) if q >= 0 else (rest, b"")
    path, _, query = url[slash:].partition(b"?")
    return path, query


class HttpServer:
    """The listener: accepts connections and runs one :class:`_Connection` greenlet per client.

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
        access_log: Callable[..., None] | None = None,
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
        self._conns: set[_Connection] = set()
        self._stopping = False

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
        self._address = tuple(server.socket.getsockname()[:2])  # type: ignore[assignment]
        self._stopping = False

    def _accept(self, sock: Any, addr: tuple[str, int]) -> None:
        with contextlib.suppress(OSError):  # a unix socket, or the peer is already gone
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = _Connection(self, sock, (addr[0], addr[1]))  # IPv6 gives a 4-tuple
        conn.greenlet = gevent.getcurrent()
        if self._stopping:
            conn.close()
            return
        self._conns.add(conn)
        conn.run()

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
        self._stopping = True
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
