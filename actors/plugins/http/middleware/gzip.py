"""``gzip``: responses compressed for clients that accept it (upstream uses klauspost's
``gzhttp`` with its defaults).

* ``Vary: Accept-Encoding`` is added to every response that passes through.
* A whole response is compressed when the client accepts gzip, it has a body of at least
  1024 bytes (gzhttp's ``DefaultMinSize``), no ``Content-Encoding`` yet (never twice), is not a
  range (206 / ``Content-Range``) and its type is not already compressed (images but SVG/BMP/ICO,
  audio, video, archives, woff2).  Bodies over 128 KiB are compressed in the hub's thread pool.
* A streamed response is compressed chunk by chunk, each one flushed (``Z_SYNC_FLUSH``) so the
  client gets every chunk when the worker sends it, as gzhttp does on ``Flush``.
* ``Content-Length`` and ``Accept-Ranges`` are dropped from compressed responses.
"""

from __future__ import annotations

import zlib

import gevent

from actors.plugins.http.middleware.delegate import AddHeaders, DelegatingWriter
from actors.plugins.http.server.listener import Handler
from actors.plugins.http.server.request import HttpRequest
from actors.plugins.http.server.response_head import Headers
from actors.plugins.http.server.writer import Writer

__all__ = ["MIN_SIZE", "accepts_gzip", "compressible", "middleware"]

#: Smaller whole bodies are sent as they are: gzip would save nothing worth the CPU.
MIN_SIZE = 1024
#: Larger whole bodies are compressed off the hub (zlib releases the GIL).
_THREAD_SIZE = 128 * 1024
_LEVEL = 6
_VARY = ("Vary", "Accept-Encoding")
_DROPPED = frozenset({"content-length", "accept-ranges"})
#: Types already compressed (gzhttp's default filter), by prefix; the exceptions compress well.
_INCOMPRESSIBLE = (
    "image/",
    "video/",
    "audio/",
    "font/woff",
    "application/zip",
    "application/gzip",
    "application/x-gzip",
    "application/zstd",
    "application/x-bzip2",
    "application/x-xz",
    "application/x-7z-compressed",
    "application/x-rar-compressed",
    "application/vnd.rar",
)
_COMPRESSIBLE_IMAGES = ("image/svg+xml", "image/bmp", "image/x-icon", "image/vnd.microsoft.icon")


def accepts_gzip(accept_encoding: str) -> bool:
    """``gzip`` (or ``*``) listed with a non-zero quality in ``Accept-Encoding``."""
    for item in accept_encoding.split(","):
        coding, _, params = item.partition(";")
        if coding.strip().lower() not in ("gzip", "x-gzip", "*"):
            continue
        quality = params.strip().lower()
        if quality.startswith("q="):
            try:
                return float(quality[2:]) > 0
            except ValueError:
                return False
        return True
    return False


def compressible(content_type: str) -> bool:
    """False for types that are compressed already; an unknown or absent type is compressed."""
    ct = content_type.split(";", 1)[0].strip().lower()
    if ct.startswith(_COMPRESSIBLE_IMAGES):
        return True
    return not ct.startswith(_INCOMPRESSIBLE)


def _gzip_whole(body: bytes) -> bytes:
    comp = zlib.compressobj(_LEVEL, zlib.DEFLATED, 31)
    return comp.compress(body) + comp.flush()


class _GzipWriter(DelegatingWriter):
    """Holds the head back until the body shows whether compressing pays, then compresses."""

    __slots__ = ("_comp", "_head", "_pending")

    def __init__(self, inner: Writer, head: bool) -> None:
        super().__init__(inner)
        self._pending: tuple[int, list[tuple[str, str]]] | None = None
        self._comp: zlib._Compress | None = None
        self._head = head  # a HEAD request: no body to compress

    @property
    def started(self) -> bool:
        return self._pending is not None or self.inner.started

    @started.setter
    def started(self, value: bool) -> None:
        self.inner.started = value

    @property
    def status(self) -> int:
        return self._pending[0] if self._pending is not None else self.inner.status

    @status.setter
    def status(self, value: int) -> None:
        self.inner.status = value

    def start(self, status: int, headers: Headers) -> None:
        if self._pending is None and not self.inner.started:
            self._pending = (status, [*headers, _VARY])

    def override(self, status: int, headers: Headers) -> None:
        if self._pending is not None:
            self._pending = (status, [*headers, _VARY])
        else:
            self.inner.override(status, [*headers, _VARY])

    def _eligible(self, status: int, headers: list[tuple[str, str]]) -> bool:
        if self._head or status in (204, 206, 304) or status < 200:
            return False
        content_type = ""
        for name, value in headers:
            low = name.lower()
            if low in ("content-encoding", "content-range"):
                return False
            if low == "content-type":
                content_type = value
        return compressible(content_type)

    def _send_head(self, compress: bool) -> None:
        assert self._pending is not None
        status, headers = self._pending
        self._pending = None
        if compress:
            headers = [h for h in headers if h[0].lower() not in _DROPPED]
            headers.append(("Content-Encoding", "gzip"))
        self.inner.start(status, headers)

    def write(self, chunk: bytes) -> None:
        if self._pending is not None:
            compress = self._eligible(*self._pending)
            self._send_head(compress)
            if compress:
                self._comp = zlib.compressobj(_LEVEL, zlib.DEFLATED, 31)
        comp = self._comp
        if comp is not None:
            if not chunk:
                return
            chunk = comp.compress(chunk) + comp.flush(zlib.Z_SYNC_FLUSH)
        self.inner.write(chunk)

    def finish(self, body: bytes = b"", trailers: Headers | None = None) -> None:
        if self._pending is not None:
            compress = len(body) >= MIN_SIZE and self._eligible(*self._pending)
            self._send_head(compress)
            if compress:
                if len(body) > _THREAD_SIZE:
                    body = gevent.get_hub().threadpool.apply(_gzip_whole, (body,))
                else:
                    body = _gzip_whole(body)
        elif self._comp is not None:
            body = self._comp.compress(body) + self._comp.flush()
            self._comp = None
        self.inner.finish(body, trailers)


def middleware(_settings: None, next_handler: Handler) -> Handler:
    """Compress the responses of ``next_handler`` for clients that accept gzip."""

    def gzip(req: HttpRequest, resp: Writer) -> None:
        accept = ""
        for key, value in req.headers:
            if key.lower() == "accept-encoding":
                accept = f"{accept},{value}" if accept else value
        if accept and accepts_gzip(accept):
            next_handler(req, _GzipWriter(resp, req.method == "HEAD"))
        else:
            next_handler(req, AddHeaders(resp, [_VARY]))

    return gzip
