"""Cutting a connection's byte stream into the messages sent as ``DATA`` events.

RoadRunner's rule (``handler.go readLoop``), kept as is: the delimiter is
looked for **only at the end of each read**.  Reads are appended until one
ends with the delimiter; the message sent is everything read so far,
delimiter included.  So two messages that arrive in one read travel
together, and a delimiter in the middle of a read does not end a message.
A read shorter than the delimiter is an error that closes the connection.

What Greenrunner adds: a message still waiting for its delimiter may hold
at most ``limit`` bytes (RoadRunner lets it grow until memory runs out), and
in ``stream`` mode every read is a message of its own, with no delimiter.
"""

from __future__ import annotations

__all__ = ["Framer", "FramingError"]


class FramingError(Exception):
    """The stream broke a framing rule; the connection must be closed."""


class Framer:
    """The pending bytes of one connection; fed one read at a time."""

    __slots__ = ("_delimiter", "_limit", "_parts", "_size", "_stream")

    def __init__(self, delimiter: bytes, limit: int, *, stream: bool = False) -> None:
        if not delimiter and not stream:
            raise ValueError("a delimiter is needed unless stream mode is on")
        self._delimiter = delimiter
        self._limit = limit
        self._stream = stream
        self._parts: list[bytes] = []
        self._size = 0

    @property
    def pending(self) -> int:
        """Bytes read and not yet handed out."""
        return self._size

    def feed(self, chunk: bytes) -> bytes | None:
        """Add one read; return the complete message when this read ends one."""
        if self._stream:
            return chunk
        delimiter = self._delimiter
        if len(chunk) < len(delimiter):
            raise FramingError(
                f"too small payload was received from the connection: {len(chunk)} bytes, "
                f"less than the delimiter {delimiter!r}"
            )
        if chunk.endswith(delimiter):
            if not self._parts:
                return chunk
            self._parts.append(chunk)
            return self.flush()
        self._size += len(chunk)
        if self._size > self._limit:
            size = self._size
            self.flush()
            raise FramingError(
                f"message too long: {size} bytes without the delimiter {delimiter!r} "
                f"(limit {self._limit} bytes: raise tcp.max_message_size or check the client's "
                "delimiter)"
            )
        self._parts.append(chunk)
        return None

    def flush(self) -> bytes:
        """Hand out whatever is pending (bytes after the last delimiter at EOF) and reset."""
        data = b"".join(self._parts)
        self._parts.clear()
        self._size = 0
        return data
