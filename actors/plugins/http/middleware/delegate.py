"""A :class:`Writer` that forwards everything to another one: the base of the response-changing
middleware (gzip, sendfile, headers), which override only the calls they change.

A file body (``send_file``) is read in chunks and passed through ``write`` unless the
subclass declares it leaves the body alone (:class:`BodyPreserving`): then the inner writer sends
it, zero-copy if it can.

Every attribute of the protocol is a property reading (and writing) the wrapped writer, so a
handler further in sees the same ``client_gone``, ``status`` and ``bytes_sent`` as the front.
"""

from __future__ import annotations

from gevent.event import Event

from actors.plugins.http.server.response_head import Headers
from actors.plugins.http.server.sendfile import copy_file
from actors.plugins.http.server.writer import Writer

__all__ = ["AddHeaders", "BodyPreserving", "DelegatingWriter"]


class DelegatingWriter:
    """Forwards every call and attribute of :class:`Writer` to ``inner``."""

    __slots__ = ("inner",)

    def __init__(self, inner: Writer) -> None:
        self.inner = inner

    @property
    def client_gone(self) -> Event:
        return self.inner.client_gone

    @client_gone.setter
    def client_gone(self, value: Event) -> None:
        self.inner.client_gone = value

    @property
    def started(self) -> bool:
        return self.inner.started

    @started.setter
    def started(self, value: bool) -> None:
        self.inner.started = value

    @property
    def finished(self) -> bool:
        return self.inner.finished

    @finished.setter
    def finished(self, value: bool) -> None:
        self.inner.finished = value

    @property
    def status(self) -> int:
        return self.inner.status

    @status.setter
    def status(self, value: int) -> None:
        self.inner.status = value

    @property
    def bytes_sent(self) -> int:
        return self.inner.bytes_sent

    @bytes_sent.setter
    def bytes_sent(self, value: int) -> None:
        self.inner.bytes_sent = value

    @property
    def keep_alive(self) -> bool:
        return self.inner.keep_alive

    @keep_alive.setter
    def keep_alive(self, value: bool) -> None:
        self.inner.keep_alive = value

    @property
    def head_sent(self) -> bool:
        return self.inner.head_sent

    def send_informational(self, status: int, headers: Headers) -> None:
        self.inner.send_informational(status, headers)

    def start(self, status: int, headers: Headers) -> None:
        self.inner.start(status, headers)

    def override(self, status: int, headers: Headers) -> None:
        self.inner.override(status, headers)

    def write(self, chunk: bytes) -> None:
        self.inner.write(chunk)

    @property
    def zero_copy(self) -> bool:
        """False: a wrapper may change the body (gzip), so by default it sees every byte."""
        return False

    def send_file(self, fd: int, offset: int, count: int) -> bool:
        """The fallback: chunks read in the thread pool go through :meth:`write` (this class's,
        so a compressing subclass compresses them).  Wrappers that leave the body alone derive
        from :class:`BodyPreserving` to keep the inner writer's zero-copy path."""
        return copy_file(self, fd, offset, count)

    def finish(self, body: bytes = b"", trailers: Headers | None = None) -> None:
        self.inner.finish(body, trailers)

    def abort(self) -> None:
        self.inner.abort()


class BodyPreserving(DelegatingWriter):
    """A wrapper that changes only the head (headers, CORS) or holds the whole answer back
    (X-Sendfile capture), never the body bytes: a file body goes straight to the inner
    writer, so a plain-HTTP front keeps ``sendfile(2)`` through it."""

    __slots__ = ()

    @property
    def zero_copy(self) -> bool:
        return self.inner.zero_copy

    def send_file(self, fd: int, offset: int, count: int) -> bool:
        return self.inner.send_file(fd, offset, count)


class AddHeaders(BodyPreserving):
    """Adds fixed headers to the final response (and to an override of it): the ``headers``
    middleware's response headers, CORS on an actual request, gzip's ``Vary``."""

    __slots__ = ("extra",)

    def __init__(self, inner: Writer, extra: list[tuple[str, str]]) -> None:
        super().__init__(inner)
        self.extra = extra

    def start(self, status: int, headers: Headers) -> None:
        self.inner.start(status, [*headers, *self.extra])

    def override(self, status: int, headers: Headers) -> None:
        self.inner.override(status, [*headers, *self.extra])
