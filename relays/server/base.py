"""The server side of a relay: the contract the pool relies on, whatever carries the bytes.

Both relays (:mod:`relays.server.pipe`, :mod:`relays.server.socket`) are used from one
greenlet at a time (the one holding the worker), block only that greenlet,
and report a dead peer as :class:`~relays.frame.RelayClosedError` so the pool
needs a single code path for "the worker went away".
"""

from __future__ import annotations

import time

import gevent

from relays.errors import ProtocolError
from relays.frame import (
    HEADER_SIZE,
    Frame,
    FrameError,
    FrameReader,
    FrameTooLargeError,
    RelayClosedError,
    parse_header,
)

__all__ = ["Relay"]


class Relay:
    """What the pool needs from a relay, whatever carries the bytes.

    ``pid`` is the worker's pid (the spawned one for pipes, the reported one
    for sockets); ``kind`` is ``pipes``, ``tcp`` or ``unix``.  Subclasses
    provide ``_recv``/``send``/``close``; framing and the diagnosis of bytes
    that are not frames live here so that both relays report them alike.
    """

    pid: int = 0
    kind: str = ""
    #: After a bad frame, how long (at most) to keep reading to quote the culprit's output.
    drain_timeout: float = 1.0
    #: ...and how long a silence ends that early.
    drain_quiet: float = 0.25
    #: ...and how many bytes are enough.
    drain_limit: int = 4096

    def __init__(self) -> None:
        self._reader = FrameReader(self._recv)
        self._closed = False

    def _recv(self, n: int) -> bytes:
        """Up to ``n`` bytes, ``b""`` at EOF; blocks only the calling greenlet."""
        raise NotImplementedError

    def send(self, data: bytes) -> None:
        """Write whole frame bytes; yields to the hub while the peer is slow to read."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the descriptors; a greenlet blocked on this relay gets RelayClosedError."""
        raise NotImplementedError

    @property
    def max_frame_size(self) -> int | None:
        """The largest payload a frame may announce (None: no limit)."""
        return self._reader.max_payload

    @max_frame_size.setter
    def max_frame_size(self, limit: int | None) -> None:
        self._reader.max_payload = limit

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    def receive(self) -> Frame:
        """Read the next frame; :class:`RelayClosedError` when the worker is gone.

        Bytes that are not a frame raise :class:`ProtocolError` (on pipes
        :class:`StdoutCorruptionError`) quoting what the worker wrote, which
        is what the user needs to find the offending print.  A header announcing
        more than ``max_frame_size`` raises :class:`FrameTooLargeError` as it is,
        at once (no drain): the caller kills the worker, and the bytes it keeps
        streaming are never read.
        """
        if self._closed:
            raise RelayClosedError("relay closed")
        try:
            return self._reader.read_frame()
        except FrameTooLargeError:
            raise
        except FrameError as exc:
            raise self._bad_frame(exc) from None

    def _bad_frame(self, exc: FrameError) -> Exception:
        data = self._reader.buffered or exc.received
        if exc.reason.startswith("relay closed in the middle of a frame"):
            try:
                parse_header(data[:HEADER_SIZE])
            except FrameError:
                pass  # not even a header: the worker wrote text, then exited
            else:
                return RelayClosedError(
                    f"{self._who()} closed the relay in the middle of a frame "
                    f"({len(data)} bytes received)"
                )
        if data[:HEADER_SIZE] == b"Could not op":
            # PHP CLI's "Could not open input file: X" (a wrong server.command path).
            data += self._drain(limit=65536)
            text = data.decode("utf-8", "backslashreplace").strip()
            return ProtocolError(
                f"worker (pid {self.pid}{self._describe()}) could not start: {text}", data
            )
        data += self._drain(limit=max(0, self.drain_limit - len(data)))
        return self._corruption(exc, data)

    def _describe(self) -> str:
        return ""

    def _who(self) -> str:
        # Socket peers have no pid until they pass the handshake.
        return f"worker (pid {self.pid})" if self.pid else "a peer that has not done the handshake"

    def _corruption(self, exc: FrameError, data: bytes) -> Exception:
        return ProtocolError(
            f"{self._who()} sent bytes that are not a goridge frame on the "
            f"{self.kind} relay ({exc.reason}); received: {data[:512]!r}",
            data,
        )

    def _drain(self, limit: int) -> bytes:
        """Read what the worker keeps writing, briefly, without blocking the hub.

        Stops at EOF, after ``limit`` bytes, after ``drain_quiet`` seconds of
        silence or ``drain_timeout`` seconds in all, whichever comes first.  A
        caller's timeout firing meanwhile ends the drain too: the diagnosis is
        more useful than the timeout.
        """
        out = bytearray()
        deadline = time.monotonic() + self.drain_timeout
        try:
            while len(out) < limit:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                chunk = None
                with gevent.Timeout(min(remaining, self.drain_quiet), False):
                    chunk = self._recv(limit - len(out))
                if not chunk:
                    break
                out += chunk
        except (gevent.Timeout, RelayClosedError, OSError):
            pass
        return bytes(out)
