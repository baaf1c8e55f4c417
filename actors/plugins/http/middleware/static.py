"""``static``: files under ``http.static.dir`` served by the server, before any worker.

Upstream ``roadrunner-server/static`` (which hands the file to Go's ``http.ServeContent``):

* a decoded path containing ``..`` is answered 403 (so are ``%2e%2e``, ``..%2f`` and ``..%5c``);
* a path without extension, with a forbidden extension, or not in ``allow`` (when ``allow`` is
  set), a miss, a directory or anything but a regular file goes on to the next handler (the
  worker), never listed;
* a file that resolves outside ``dir`` (a symlink out) is answered 403: stricter than upstream,
  whose ``http.Dir`` follows such links;
* served files get ``Content-Type`` (by extension), ``Content-Length``, ``Last-Modified``,
  ``Accept-Ranges: bytes``, ``ETag`` when ``calculate_etag`` (``W/"size-mtime"`` when ``weak``,
  else ``"size-crc32"`` of the content, cached per size and mtime), the ``response`` headers;
  conditional requests answer 304 / 412, ``Range: bytes=`` one range 206 (several: the whole
  file), an unsatisfiable range 416.

All file I/O runs in the hub's thread pool (:mod:`.fileio`).
"""

from __future__ import annotations

import email.utils
import mimetypes
import os
import zlib
from urllib.parse import unquote_to_bytes

import gevent

from actors.config.model import StaticConfig
from actors.plugins.http.middleware.conditional import (
    Precondition,
    RangeError,
    check_preconditions,
    parse_range,
)
from actors.plugins.http.middleware.fileio import (
    CHUNK,
    OUTSIDE,
    Opened,
    open_beneath,
    stream_range,
)
from actors.plugins.http.server.listener import Handler
from actors.plugins.http.server.request import HttpRequest
from actors.plugins.http.server.writer import Writer

__all__ = ["content_type", "extension", "middleware"]

_TEXT_ERROR = [("Content-Type", "text/plain; charset=utf-8"), ("X-Content-Type-Options", "nosniff")]
#: Strong ETags kept, by (path, size, mtime_ns); beyond this many the oldest half is dropped.
_ETAG_CACHE_SIZE = 4096
#: Headers whose value the request's conditionals need, by lower-case name.
_CONDITIONAL = frozenset(
    {"if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "if-range", "range"}
)


def extension(path: str) -> str:
    """Go's ``path.Ext``, lower-cased: from the last dot of the last path element (``""``
    when there is none); ``/.htaccess`` has the extension ``.htaccess``."""
    last = path.rsplit("/", 1)[-1]
    dot = last.rfind(".")
    return last[dot:].lower() if dot >= 0 else ""


def content_type(path: str) -> str:
    """By extension, with ``charset=utf-8`` on text types as Go's ``mime`` package does."""
    ext = extension(path)
    known = _TYPES.get(ext)
    if known is None:
        known = _guess_type(path)
        if len(_TYPES) < 1024:  # bounded: extensions come from request paths
            _TYPES[ext] = known
    return known


#: Content types by extension: a served tree has few extensions, guessing each costs ~20 us.
_TYPES: dict[str, str] = {}


def _guess_type(path: str) -> str:
    guessed, _ = mimetypes.guess_type(path, strict=False)
    if guessed is None:
        return "application/octet-stream"
    if guessed.startswith("text/") or guessed in ("application/javascript", "application/json"):
        if guessed == "application/javascript":
            guessed = "text/javascript"
        return f"{guessed}; charset=utf-8" if guessed != "application/json" else guessed
    return guessed


def _crc_etag(fd: int, size: int) -> str:
    """``"size-crc32"`` of the content (runs in a thread: it reads the whole file)."""
    crc = 0
    offset = 0
    while offset < size:
        data = os.pread(fd, min(CHUNK * 4, size - offset), offset)
        if not data:
            break
        crc = zlib.crc32(data, crc)
        offset += len(data)
    return f'"{size}-{crc}"'


class _EtagCache:
    """Strong ETags by file identity, so a big file is read for its CRC once, not per request."""

    def __init__(self) -> None:
        self._tags: dict[tuple[str, int, int], str] = {}

    def get(self, path: str, opened: Opened) -> str:
        st = opened.st
        if st.st_size == 0:
            return ""  # upstream: an empty body gets no strong validator
        key = (path, st.st_size, st.st_mtime_ns)
        tag = self._tags.get(key)
        if tag is None:
            if opened.data is not None:
                tag = f'"{st.st_size}-{zlib.crc32(opened.data)}"'
            else:
                tag = gevent.get_hub().threadpool.apply(_crc_etag, (opened.fd, st.st_size))
            if len(self._tags) >= _ETAG_CACHE_SIZE:
                for old in list(self._tags)[: _ETAG_CACHE_SIZE // 2]:
                    del self._tags[old]
            self._tags[key] = tag
        return tag


def _forbidden(resp: Writer) -> None:
    resp.start(403, [])
    resp.finish(b"")


def middleware(cfg: StaticConfig, next_handler: Handler) -> Handler:
    """Serve files from ``cfg.dir``; everything else goes to ``next_handler``."""
    root = cfg.dir.rstrip(os.sep) or os.sep
    forbid = frozenset(cfg.forbid)
    allow = frozenset(cfg.allow)
    configured = list(cfg.response.items())
    configured_names = frozenset(k.lower() for k, _ in configured)
    etags = _EtagCache() if cfg.calculate_etag and not cfg.weak else None

    def serve_static(req: HttpRequest, resp: Writer) -> None:
        raw = req.path
        decoded = unquote_to_bytes(raw) if b"%" in raw else raw
        if b".." in decoded:
            _forbidden(resp)
            return
        decoded = decoded.replace(b"\r", b"").replace(b"\n", b"")
        name = os.fsdecode(decoded)
        ext = extension(name)
        if not ext or ext in forbid or (allow and ext not in allow) or "\x00" in name:
            next_handler(req, resp)
            return
        relative = name.lstrip("/")
        opened = open_beneath(root, relative, read_small=req.method != "HEAD")
        if opened is None:
            next_handler(req, resp)  # a miss, a directory, a device: the worker decides
            return
        if opened is OUTSIDE:
            _forbidden(resp)  # a symlink out of dir
            return
        assert isinstance(opened, Opened)
        try:
            _serve(req, resp, relative, opened)
        finally:
            opened.close()

    def _serve(req: HttpRequest, resp: Writer, path: str, opened: Opened) -> None:
        st = opened.st
        size = st.st_size
        mtime = int(st.st_mtime)
        headers: list[tuple[str, str]] = []
        etag = ""
        if cfg.calculate_etag:
            if cfg.weak:
                etag = (
                    f'W/"{size}-{st.st_mtime_ns // 1_000_000_000}.{st.st_mtime_ns % 1_000_000_000}"'
                )
            elif etags is not None:
                etag = etags.get(path, opened)
            if etag:
                headers.append(("ETag", etag))
        get = {k.lower(): v for k, v in req.headers if k.lower() in _CONDITIONAL}
        if mtime > 0:
            headers.append(("Last-Modified", email.utils.formatdate(mtime, usegmt=True)))
        headers.extend(configured)
        verdict, range_ok = check_preconditions(req.method, get, etag, mtime)
        if verdict is Precondition.NOT_MODIFIED:
            if etag:
                headers = [h for h in headers if h[0] != "Last-Modified"]
            resp.start(304, headers)
            resp.finish(b"")
            return
        if verdict is Precondition.FAILED:
            resp.start(412, headers)
            resp.finish(b"")
            return
        if "content-type" not in configured_names:
            headers.append(("Content-Type", content_type(path)))
        headers.append(("Accept-Ranges", "bytes"))
        offset, length, status = 0, size, 200
        if range_ok and "range" in get:
            try:
                ranges = parse_range(get["range"], size)
            except RangeError as exc:
                resp.start(416, [*_TEXT_ERROR, ("Content-Range", f"bytes */{size}")])
                resp.finish(f"{exc}\n".encode())
                return
            if ranges is not None and len(ranges) == 1:
                offset, length = ranges[0]
                status = 206
                headers.append(("Content-Range", f"bytes {offset}-{offset + length - 1}/{size}"))
        headers.append(("Content-Length", str(length)))
        resp.start(status, headers)
        if req.method == "HEAD":
            resp.finish(b"")
            return
        if opened.data is not None and len(opened.data) == size:
            resp.finish(opened.data[offset : offset + length])
            return
        if not stream_range(resp, opened.fd, offset, length):
            resp.abort()  # the file shrank under us: a short body must not look complete
            return
        resp.finish(b"")

    return serve_static
