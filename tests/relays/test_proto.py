"""The hand-written protobuf wire rules (relays/proto.py) against spec vectors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relays import proto

# RoadRunner's http.v1 protobuf, generated with python-protobuf:
# Response{status:200, headers:{"Content-Type":["text/plain"]}}
RESPONSE_200 = bytes.fromhex("08c801121c0a0c436f6e74656e742d54797065120c0a0a746578742f706c61696e")


def test_spec_vector_decodes():
    fields = list(proto.fields(RESPONSE_200))
    assert fields[0] == (1, proto.VARINT, 200)
    number, wire, entry = fields[1]
    assert (number, wire) == (2, proto.LEN)
    assert proto.decode_header_map_entry(entry) == (b"Content-Type", [b"text/plain"])


def test_spec_vector_encodes_byte_for_byte():
    out = bytearray()
    proto.put_varint(out, 0x08)
    proto.put_varint(out, 200)
    proto.encode_header_map(out, 2, [(b"Content-Type", [b"text/plain"])])
    assert bytes(out) == RESPONSE_200


@given(st.integers(min_value=0, max_value=(1 << 64) - 1))
def test_varint_round_trip(n):
    out = bytearray()
    proto.put_varint(out, n)
    assert proto.read_varint(bytes(out), 0) == (n, len(out))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x08", "truncated varint"),
        (b"\x12\x05ab", "truncated field"),
        (b"\x08" + b"\xff" * 11, "varint too long"),
        (b"\x00\x01", "field number 0"),
        (b"\x0b", "unsupported wire type 3"),
        (b"\x09abc", "truncated field"),
    ],
)
def test_malformed_messages_are_named(data, message):
    with pytest.raises(proto.ProtoError, match=message):
        list(proto.fields(data))
