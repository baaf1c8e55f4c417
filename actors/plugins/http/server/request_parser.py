"""Where a request is parsed: the ``httptools`` (llhttp) callbacks that build :class:`HttpRequest`.

The limits are answered the way Go's ``net/http`` (and so RoadRunner) answers them: 400 for
malformed input, 413 for a body over ``max_request_size``, 431 for an oversized header section,
417 for an unknown ``Expect``, 505 for a non-1.x version.  Parsing only records the error; the
connection answers it and closes, and the handler is never called.

An ``Upgrade`` request is read as a plain one (upgrades are not supported): llhttp stops at it,
so its body, if any, is resumed through a synthetic head with the same framing.
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING

from httptools import HttpParserError, HttpParserUpgrade, HttpRequestParser

from actors.plugins.http.server.header_names import (
    KNOWN_REQUEST_NAMES,
    R_CLEN,
    R_EXPECT,
    R_HOST,
    request_name,
)
from actors.plugins.http.server.request import HttpRequest

if TYPE_CHECKING:
    from actors.plugins.http.server.listener import HttpServer

__all__ = ["RECV_SIZE", "RequestParser"]

#: Bytes asked from the kernel per ``recv``; also the slack allowed on top of max_header_size while
#: a header section is still incomplete (what llhttp has buffered cannot be measured exactly).
RECV_SIZE = 65536

_METHODS: dict[bytes, str] = {}
_VERSIONS = {"1.1": "HTTP/1.1", "1.0": "HTTP/1.0"}


class _Abort(Exception):
    """Raised inside a parser callback to stop parsing; the connection answers ``_error``."""


class RequestParser:
    """The parser protocol of one connection: bytes in (:meth:`_feed`), requests out (``_ready``).

    A base class of :class:`~actors.plugins.http.server.connection.Connection` rather than an
    object it holds: llhttp calls these callbacks for every request, and the loop reads the
    state they leave (``_ready``, ``_error``, ``_continue``, ``_deadline``) just as often, so
    the state stays on one object, one attribute lookup away.
    """

    __slots__ = (
        "_begin",
        "_body",
        "_body_len",
        "_clen",
        "_continue",
        "_deadline",
        "_error",
        "_expect",
        "_hdr_bytes",
        "_headers",
        "_host",
        "_hosts",
        "_in_headers",
        "_in_message",
        "_ready",
        "_splice",
        "_stall",
        "_synthetic",
        "_upgrade",
        "_upgrade_line",
        "_url",
        "_version",
        "addr",
        "parser",
        "server",
    )

    def __init__(self, server: HttpServer, addr: tuple[str, int]) -> None:
        self.server = server
        self.addr = addr
        self.parser = HttpRequestParser(self)
        self._ready: deque[HttpRequest] = deque()
        self._error: tuple[int, str] | None = None
        self._in_message = False
        self._in_headers = False
        self._deadline = 0.0
        self._begin = 0.0
        self._continue = False
        self._splice: bytes | None = None
        self._synthetic = False
        self._upgrade = False
        self._upgrade_line: tuple[bytes, str] = (b"", "")
        #: The version of the message being read, from llhttp once its head is complete:
        #: ``get_http_version`` formats a string each call (about 2,200 instructions).
        self._version = "1.1"
        self._begin_message()  # the per-message fields exist from the start...
        self._in_message = self._in_headers = False  # ...but no message has begun

    # -- parser callbacks (called from feed_data, in this connection's greenlet) ----------------

    def _begin_message(self) -> None:
        """A request starts: fresh per-message state, and the (shorter) header deadline.

        Called from :meth:`on_url`, not as llhttp's ``on_message_begin``: a callback from the
        parser costs about twice a Python call, and every request line has a URL.  The read
        loop calls it too when bytes arrived but no URL yet (a request line cut after its
        method), so the header deadline runs from the first bytes all the same.
        """
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
        self._in_message = True
        self._in_headers = True
        now = self._begin = time.monotonic()
        self._deadline = now + self.server.head_timeout

    def on_url(self, url: bytes) -> None:
        if self._synthetic:
            return
        if not self._in_message:
            self._begin_message()
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
        sname, kind = KNOWN_REQUEST_NAMES.get(name) or request_name(name)
        svalue = value.decode("latin-1")
        if kind:
            if kind == R_CLEN:
                self._clen = int(value)  # llhttp has validated the digits and duplicates
            elif kind == R_HOST:
                self._hosts += 1
                self._host = svalue
            elif kind == R_EXPECT:
                self._expect = svalue
        self._headers.append((sname, svalue))

    def on_headers_complete(self) -> None:
        if self._synthetic:
            return
        self._in_headers = False
        self._deadline = self._begin + self.server.read_timeout
        parser = self.parser
        version = self._version = parser.get_http_version()
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
            v = self._version
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
        parts = self._body
        body = parts[0] if len(parts) == 1 else b"".join(parts)
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

    def _read_deadline(self) -> float:
        """When the request being read must be complete, as things stand.

        The head has its own deadline (``header_timeout``); then the whole request has
        ``read_timeout``, and the body must also keep an average ``min_body_rate`` once
        ``body_grace`` has passed since the request began: every body byte received pushes
        that deadline further.
        Called by the read loop only while a request is incomplete, so a request that
        arrives in one ``recv`` never pays for it.
        """
        deadline = self._deadline
        rate = self.server.min_body_rate
        if rate and not self._in_headers:
            by_rate = self._begin + self.server.body_grace + self._body_len / rate
            if by_rate < deadline:
                return by_rate
        return deadline

    def _fail(self, status: int, detail: str) -> None:
        if self._error is None:
            self._error = (status, detail)
        raise _Abort(status)

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
            if self._stall > self.server.max_header_size + RECV_SIZE and self._error is None:
                self._error = (431, "") if self._in_headers else (400, "trailer section too large")


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
