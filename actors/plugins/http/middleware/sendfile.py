"""``sendfile``: a worker answer carrying ``X-Sendfile: <path>`` is replaced by that file.

Upstream ``roadrunner-server/send``: the worker's body is dropped and the file at the header's
path is streamed while the worker is already free for the next request: with ``sendfile(2)``
over plain HTTP (no byte of it enters Python), else in bounded chunks (there 10 MB; here
:data:`~actors.plugins.http.server.sendfile.CHUNK`) read in the thread pool (TLS, HTTP/2, or
a body-changing middleware such as gzip outside this one).  A path containing ``..`` is
answered 403, a file that cannot be found 404 ``not found``, one that cannot be opened 500.
The header itself never reaches the client.  The worker's status and other headers are kept;
``Content-Type`` defaults to ``application/octet-stream`` and ``Content-Length`` is the file's
size.

The path is used as the worker gives it (absolute, or relative to the server's working
directory): like upstream, the application decides which files it hands out.
"""

from __future__ import annotations

import os

import gevent

from actors.plugins.http.middleware.delegate import BodyPreserving
from actors.plugins.http.middleware.fileio import open_regular
from actors.plugins.http.server.listener import Handler
from actors.plugins.http.server.request import HttpRequest
from actors.plugins.http.server.response_head import Headers
from actors.plugins.http.server.writer import Writer

__all__ = ["HEADER", "middleware"]

HEADER = "X-Sendfile"
_TEXT_ERROR = [("Content-Type", "text/plain; charset=utf-8"), ("X-Content-Type-Options", "nosniff")]


class _Capture(BodyPreserving):
    """Passes answers through, except one with ``X-Sendfile``: that one is kept back (status,
    headers) and its body dropped, for the middleware to send the file once the worker is
    released."""

    __slots__ = ("file", "headers", "held")

    def __init__(self, inner: Writer) -> None:
        super().__init__(inner)
        self.file: str | None = None
        self.held: int = 0
        self.headers: list[tuple[str, str]] = []

    @property
    def started(self) -> bool:
        return self.held != 0 or self.inner.started

    @started.setter
    def started(self, value: bool) -> None:
        self.inner.started = value

    @property
    def status(self) -> int:
        return self.held or self.inner.status

    @status.setter
    def status(self, value: int) -> None:
        self.inner.status = value

    def start(self, status: int, headers: Headers) -> None:
        if self.held or self.inner.started:
            return
        path = None
        for name, value in headers:
            if name.lower() == "x-sendfile":
                path = value
                break
        if path is None:
            self.inner.start(status, headers)
            return
        self.file = path
        self.held = status
        self.headers = [h for h in headers if h[0].lower() != "x-sendfile"]

    def override(self, status: int, headers: Headers) -> None:
        # The worker's answer failed after its head: the error replaces the file.
        self.file, self.held = None, 0
        if self.inner.started:
            self.inner.override(status, headers)
        else:
            self.inner.start(status, headers)

    def write(self, chunk: bytes) -> None:
        if not self.held:
            self.inner.write(chunk)

    def send_file(self, fd: int, offset: int, count: int) -> bool:
        if self.held:
            return True
        return self.inner.send_file(fd, offset, count)

    def finish(self, body: bytes = b"", trailers: Headers | None = None) -> None:
        if not self.held:
            self.inner.finish(body, trailers)


def _error(resp: Writer, status: int, text: str) -> None:
    resp.start(status, _TEXT_ERROR if text else [])
    resp.finish(text.encode())


def send_file(req: HttpRequest, resp: Writer, path: str, status: int, headers: Headers) -> None:
    """Answer with the file at ``path`` (or the upstream error for it)."""
    if ".." in path:
        _error(resp, 403, "")
        return
    opened = open_regular(path, read_small=False)
    if opened is None:
        exists = gevent.get_hub().threadpool.apply(os.path.exists, (path,))
        if exists:
            _error(resp, 500, f"open {path}: not a regular file or not readable\n")
        else:
            _error(resp, 404, "not found\n")
        return
    try:
        size = opened.st.st_size
        out = [h for h in headers if h[0].lower() not in ("content-length", "transfer-encoding")]
        if not any(h[0].lower() == "content-type" for h in out):
            out.append(("Content-Type", "application/octet-stream"))
        out.append(("Content-Length", str(size)))
        resp.start(status, out)
        if req.method == "HEAD" or resp.send_file(opened.fd, 0, size):
            resp.finish(b"")
        else:
            resp.abort()  # the file shrank while being sent: cut, never padded
    finally:
        opened.close()


def middleware(_settings: None, next_handler: Handler) -> Handler:
    """Replace answers carrying ``X-Sendfile`` by the file they name."""

    def sendfile(req: HttpRequest, resp: Writer) -> None:
        capture = _Capture(resp)
        next_handler(req, capture)
        # The worker is released by now: the file goes out on the server's time only.
        if capture.file is not None and not resp.finished:
            send_file(req, resp, capture.file, capture.held, capture.headers)

    return sendfile
