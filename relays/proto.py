"""The few protobuf wire rules RoadRunner's ``http.v1`` messages need.

RoadRunner >= 2024.1 carries HTTP contexts as protobuf.  Two messages with a
handful of fields do not justify a protobuf runtime in every worker, so the
wire format is done by hand here, once, for both sides: the server decodes
``http.v1.Response`` and the worker SDK decodes ``http.v1.Request`` and
encodes responses.  Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

__all__ = [
    "ProtoError",
    "decode_header_map_entry",
    "encode_header_map",
    "fields",
    "put_bytes",
    "put_varint",
    "read_varint",
]

VARINT, I64, LEN, I32 = 0, 1, 2, 5


class ProtoError(ValueError):
    """Bytes that are not a well-formed protobuf message."""


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """Return ``(value, next_pos)``; at most 10 bytes, as protobuf allows."""
    result = shift = 0
    end = len(data)
    while True:
        if pos >= end:
            raise ProtoError("truncated varint")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ProtoError("varint too long")


def _chunk(data: bytes, pos: int) -> tuple[bytes, int]:
    size, pos = read_varint(data, pos)
    end = pos + size
    if end > len(data):
        raise ProtoError("truncated field")
    return data[pos:end], end


def fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yield ``(field_number, wire_type, value)`` for varint and length-delimited fields.

    Fixed-width fields are skipped (neither message uses them); field
    number 0 and unknown wire types are errors.
    """
    pos = 0
    end = len(data)
    while pos < end:
        tag, pos = read_varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise ProtoError("field number 0")
        if wire == LEN:
            value, pos = _chunk(data, pos)
            yield number, wire, value
        elif wire == VARINT:
            num, pos = read_varint(data, pos)
            yield number, wire, num
        elif wire in (I64, I32):
            pos += 8 if wire == I64 else 4
            if pos > end:
                raise ProtoError("truncated field")
        else:
            raise ProtoError(f"unsupported wire type {wire}")


def decode_header_map_entry(entry: bytes) -> tuple[bytes, list[bytes]]:
    """One ``map<string, HeaderValue{repeated bytes value = 1}>`` entry.

    A repeated key within the entry keeps its last occurrence (protobuf map
    semantics), as do the values.
    """
    key = b""
    values: list[bytes] = []
    for number, wire, value in fields(entry):
        if wire != LEN:
            continue
        assert isinstance(value, bytes)
        if number == 1:
            key = value
        elif number == 2:
            values = [v for n, w, v in fields(value) if n == 1 and w == LEN]  # type: ignore[misc]
    return key, values


def put_varint(out: bytearray, value: int) -> None:
    """Append a varint; negative values are two's complement over 64 bits, as int64 is."""
    value &= (1 << 64) - 1
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def put_bytes(out: bytearray, number: int, data: bytes) -> None:
    """Append a length-delimited field."""
    put_varint(out, (number << 3) | LEN)
    put_varint(out, len(data))
    out += data


def encode_header_map(
    out: bytearray, number: int, headers: Sequence[tuple[bytes, Sequence[bytes]]]
) -> None:
    """Append ``map<string, HeaderValue>`` entries for ``headers``."""
    for name, values in headers:
        value_msg = bytearray()
        for v in values:
            put_bytes(value_msg, 1, v)
        entry = bytearray()
        put_bytes(entry, 1, name)
        put_bytes(entry, 2, bytes(value_msg))
        put_bytes(out, number, bytes(entry))
