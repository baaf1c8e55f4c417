"""Just enough of Go's ``encoding/gob`` to read the arguments the ``rr`` CLI sends.

``rr workers`` and ``rr reset`` call over net/rpc with a fresh gob encoder per call, so every
argument is one self-contained message of a predeclared type: ``true`` is ``03 02 00 01``
(message length 3, type id 1 as a signed gob int, the singleton field marker 0, the value),
``"http"`` is ``07 0c 00 04 68 74 74 70``.  Messages carrying a type definition (negative
type id) announce a user-defined type (a struct, a slice), which no service here takes: they
are refused with an error naming what is supported.  Replies to gob requests are sent in
JSON, which the Go client decodes by the reply's own flag, so no gob encoder is needed.
"""

from __future__ import annotations

import struct

from actors.rpc.errors import CallError

__all__ = ["GobError", "decode_gob"]

_BOOL, _INT, _UINT, _FLOAT, _BYTES, _STRING = 1, 2, 3, 4, 5, 6
_NAMES = {_BOOL: "bool", _INT: "int", _UINT: "uint", _FLOAT: "float64", _BYTES: "[]byte"}
_NAMES[_STRING] = "string"
_SUPPORTED = "bool, int, uint, float64, []byte and string"


class GobError(CallError, ValueError):
    """A gob argument this decoder cannot read; the text is the ERROR reply."""


class _Reader:
    """A cursor over the message bytes; every read checks the bounds."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        """The next ``n`` bytes; a short message is a :class:`GobError`, never an IndexError."""
        end = self.pos + n
        if end > len(self.data):
            raise GobError(
                f"gob: truncated argument: needed {n} bytes at offset {self.pos}, "
                f"only {len(self.data) - self.pos} left"
            )
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def uint(self) -> int:
        """A gob uint: one byte below 128, else ``0x100 - n`` then n big-endian bytes."""
        first = self.take(1)[0]
        if first < 0x80:
            return first
        n = 0x100 - first
        if n > 8:
            raise GobError(f"gob: invalid uint length {n} at offset {self.pos - 1}")
        return int.from_bytes(self.take(n), "big")

    def int(self) -> int:
        """A gob int: the uint's low bit is the sign, the rest the (complemented) value."""
        u = self.uint()
        return ~(u >> 1) if u & 1 else u >> 1


def _value(reader: _Reader, type_id: int) -> bool | int | float | str | bytes:
    """Decode the value of a predeclared type (the only kind that carries no type definition)."""
    if type_id == _BOOL:
        flag = reader.uint()
        if flag > 1:
            raise GobError(f"gob: invalid bool value {flag}")
        return flag == 1
    if type_id == _INT:
        return reader.int()
    if type_id == _UINT:
        return reader.uint()
    if type_id == _FLOAT:
        # The IEEE bits, byte-reversed so that small floats encode short (0.5 is fe e0 3f).
        value: float = struct.unpack("<d", reader.uint().to_bytes(8, "big"))[0]
        return value
    data = reader.take(reader.uint())
    if type_id == _BYTES:
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GobError(f"gob: the string argument is not valid UTF-8: {exc}") from None


def decode_gob(data: bytes) -> bool | int | float | str | bytes:
    """The value of one gob message of a predeclared type; :class:`GobError` otherwise."""
    reader = _Reader(data)
    length = reader.uint()
    if length > len(data) - reader.pos:
        raise GobError(
            f"gob: message announces {length} bytes but only {len(data) - reader.pos} follow"
        )
    end = reader.pos + length
    type_id = reader.int()
    if type_id < 0:
        raise GobError(
            f"gob: the argument is of a user-defined type (definition of type id {-type_id}); "
            f"only {_SUPPORTED} arguments are supported over gob: send JSON instead"
        )
    if type_id not in _NAMES:
        raise GobError(
            f"gob: unsupported argument type id {type_id}; only {_SUPPORTED} are supported"
        )
    marker = reader.uint()
    if marker != 0:
        raise GobError(f"gob: expected the singleton field marker 0, got {marker}")
    value = _value(reader, type_id)
    if reader.pos != end or end != len(data):
        raise GobError(
            f"gob: {len(data) - reader.pos} unexpected bytes after the {_NAMES[type_id]} argument"
        )
    return value
