"""What a handler writes a response through: the one interface every protocol front implements.

The HTTP/1.1 :class:`~actors.plugins.http.server.response.ResponseWriter` is one implementation;
an HTTP/2 stream writer and the response-changing middleware (gzip, sendfile, headers) are
others.  A file body goes through :meth:`Writer.send_file`, zero-copy where the writer can
(:mod:`.sendfile`).  Handlers and middleware are typed against :class:`Writer` only, so a
middleware never depends on which front (HTTP/1.1, TLS, HTTP/2) carries the response.
"""

from __future__ import annotations

from typing import Protocol

from gevent.event import Event

from actors.plugins.http.server.response_head import Headers

__all__ = ["RecordedHead", "Writer"]


class Writer(Protocol):
    """One response being written; see :class:`~.response.ResponseWriter` for the semantics."""

    #: Set when the client went away (a failed send, or the peer closed while waiting).
    client_gone: Event
    #: True once :meth:`start` recorded a final status (it may not be on the wire yet).
    started: bool
    #: True once :meth:`finish` or :meth:`abort` ended the response.
    finished: bool
    #: The final status recorded by :meth:`start` (0 before).
    status: int
    #: Bytes of the response put on the wire so far (for the access log and metrics).
    bytes_sent: int
    #: Whether the connection stays open after this response (a handler may clear it).
    keep_alive: bool

    @property
    def head_sent(self) -> bool:
        """True once the status line is on the wire (the status can no longer change)."""
        ...

    @property
    def zero_copy(self) -> bool:
        """True when :meth:`send_file` hands the file to the kernel (``sendfile(2)``): no byte
        of it passes through Python.  False for writers that must see the bytes (TLS, HTTP/2,
        gzip...): their ``send_file`` reads chunks and writes them."""
        ...

    def send_informational(self, status: int, headers: Headers) -> None:
        """Send a 1xx response (not 101) ahead of the final one."""
        ...

    def start(self, status: int, headers: Headers) -> None:
        """Record the final status and headers; they leave with the first write or finish."""
        ...

    def override(self, status: int, headers: Headers) -> None:
        """Replace what :meth:`start` recorded while nothing is on the wire yet."""
        ...

    def write(self, chunk: bytes) -> None:
        """Stream ``chunk`` now (the head leaves with the first one)."""
        ...

    def send_file(self, fd: int, offset: int, count: int) -> bool:
        """Stream ``count`` bytes of the open file ``fd`` from ``offset`` as (part of) the body,
        as :meth:`write` would; False when the file ended early (the caller then aborts, so a
        short body never looks complete).  Zero-copy when :attr:`zero_copy`; ``fd`` is not
        closed and may be closed as soon as this returns."""
        ...

    def finish(self, body: bytes = b"", trailers: Headers | None = None) -> None:
        """End the response, with a last body part and optional trailers."""
        ...

    def abort(self) -> None:
        """Give up: nothing more is sent, the connection (or stream) is reset."""
        ...


class RecordedHead:
    """``start`` and ``override`` as every front implements them: the final status and headers
    are only recorded, and leave with the first body write (HTTP/1.1 ``ResponseWriter``, the
    HTTP/2 ``StreamWriter``).  The front defines the slots and :attr:`head_sent`."""

    # Empty: the fronts define the slots (mypy cannot see them here, hence the ignores below).
    __slots__ = ()

    started: bool
    finished: bool
    status: int
    _headers: Headers

    @property
    def head_sent(self) -> bool:
        raise NotImplementedError

    def start(self, status: int, headers: Headers) -> None:
        """Record the final status and headers; they leave with the first ``write``/``finish``.

        A second call is ignored, like Go's superfluous ``WriteHeader``.  Header values are text,
        sent as UTF-8 (unlike :class:`HttpRequest`'s, which carry the received bytes as latin-1).
        """
        if self.started:
            return
        if not 200 <= status <= 999:
            raise ValueError(f"invalid final status: {status}")
        self.started = True  # type: ignore[misc]
        self.status = status  # type: ignore[misc]
        self._headers = headers  # type: ignore[misc]

    def override(self, status: int, headers: Headers) -> None:
        """Replace what :meth:`start` recorded, as long as nothing is on the wire yet.

        For an error found between ``start`` and the first byte of body (a worker whose stream
        began with an empty chunk, then failed): the client must get the error status, not the
        one the failed response had announced.
        """
        if self.head_sent or self.finished:
            raise RuntimeError("override() after the head was sent")
        self.started = False  # type: ignore[misc]
        self.start(status, headers)
