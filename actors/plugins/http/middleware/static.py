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

Opening and stating run in the hub's thread pool (:mod:`.fileio`); a file above the small-file
size (and any range of one) goes out with ``Writer.send_file``: ``sendfile(2)`` on plain HTTP,
chunks read in the thread pool over TLS, HTTP/2 or through gzip.  A small file just served is
answered from memory for one second (:mod:`.static_cache`): a change on disk shows within 1 s.
"""

from __future__ import annotations

import email.utils
import mimetypes
import os
from urllib.parse import unquote_to_bytes

from actors.config.model import StaticConfig
from actors.plugins.http.middleware.conditional import (
    Precondition,
    RangeError,
    check_preconditions,
    parse_range,
)
from actors.plugins.http.middleware.fileio import (
    OUTSIDE,
    Opened,
    open_beneath,
)
from actors.plugins.http.middleware.static_cache import EtagCache, FileCache, FileInfo
from actors.plugins.http.server.listener import Handler
from actors.plugins.http.server.request import HttpRequest
from actors.plugins.http.server.writer import Writer

__all__ = ["content_type", "extension", "middleware"]

_TEXT_ERROR = [("Content-Type", "text/plain; charset=utf-8"), ("X-Content-Type-Options", "nosniff")]
#: The verdict for a request without conditional headers.
_PLAIN = (Precondition.SERVE, True)
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
    etags = EtagCache()
    files = FileCache()

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
        info = files.get(relative)
        if info is not None:
            _serve(req, resp, info, -1)
            return
        opened = open_beneath(root, relative)
        if opened is None:
            next_handler(req, resp)  # a miss, a directory, a device: the worker decides
            return
        if opened is OUTSIDE:
            _forbidden(resp)  # a symlink out of dir
            return
        assert isinstance(opened, Opened)
        try:
            info = _describe(relative, opened)
            if info.data is not None:
                files.put(relative, info)
            _serve(req, resp, info, opened.fd)
        finally:
            opened.close()

    def _describe(path: str, opened: Opened) -> FileInfo:
        st = opened.st
        etag = ""
        if cfg.calculate_etag:
            if cfg.weak:
                seconds, nanos = divmod(st.st_mtime_ns, 1_000_000_000)
                etag = f'W/"{st.st_size}-{seconds}.{nanos}"'
            else:
                etag = etags.get(path, opened)
        mtime = int(st.st_mtime)
        modified = email.utils.formatdate(mtime, usegmt=True) if mtime > 0 else ""
        data = opened.data if opened.data is not None and len(opened.data) == st.st_size else None
        return FileInfo(st.st_size, mtime, etag, modified, content_type(path), data)

    def _serve(req: HttpRequest, resp: Writer, info: FileInfo, fd: int) -> None:
        size = info.size
        headers: list[tuple[str, str]] = []
        etag = info.etag
        if etag:
            headers.append(("ETag", etag))
        if info.last_modified:
            headers.append(("Last-Modified", info.last_modified))
        headers.extend(configured)
        get = {k.lower(): v for k, v in req.headers if k.lower() in _CONDITIONAL}
        verdict, range_ok = (
            check_preconditions(req.method, get, etag, info.mtime) if get else _PLAIN
        )
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
            headers.append(("Content-Type", info.content_type))
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
        elif info.data is not None:
            resp.finish(info.data if length == size else info.data[offset : offset + length])
        elif resp.send_file(fd, offset, length):
            resp.finish(b"")
        else:
            resp.abort()  # the file shrank under us: a short body must not look complete

    return serve_static
