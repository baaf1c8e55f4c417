"""The gob arguments of the Go ``rr`` CLI, from the spec's vectors (Go 1.19 encoding/gob)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.rpc.gob import GobError, decode_gob

# rr-plugins-spec.md section 3.3
TRUE = bytes.fromhex("03020001")
FALSE = bytes.fromhex("03020000")
HTTP = bytes.fromhex("070c000468747470")
STRINGS = bytes.fromhex(
    "0cff8102010202ff820001 0c0000 0eff820002046874747004 6a6f6273".replace(" ", "")
)


def test_spec_vectors() -> None:
    assert decode_gob(TRUE) is True
    assert decode_gob(FALSE) is False
    assert decode_gob(HTTP) == "http"


@pytest.mark.parametrize(
    ("data", "value"),
    [
        (bytes.fromhex("03040002"), 1),  # int 1: zig-zag 2
        (bytes.fromhex("03040001"), -1),  # int -1: (~-1 << 1) | 1 = 1
        (bytes.fromhex("050400fe0100"), 128),  # int 128: zig-zag 256, a two-byte uint (fe 01 00)
        (bytes.fromhex("03060007"), 7),  # uint 7
        (bytes.fromhex("050800fee03f"), 0.5),  # float 0.5: byte-reversed IEEE bits
        (bytes.fromhex("060a0003616263"), b"abc"),  # []byte
        (bytes.fromhex("030c0000"), ""),  # empty string
    ],
)
def test_other_predeclared_types(data: bytes, value: object) -> None:
    assert decode_gob(data) == value
    assert type(decode_gob(data)) is type(value)


def test_a_type_definition_is_refused_with_the_fix() -> None:
    with pytest.raises(GobError, match=r"user-defined type .*send JSON instead"):
        decode_gob(STRINGS)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (bytes.fromhex("07"), "announces 7 bytes"),
        (bytes.fromhex("070c000968747470"), "truncated"),
        (bytes.fromhex("0402000100"), "unexpected bytes"),
        (TRUE + TRUE, "unexpected bytes"),
        (bytes.fromhex("03020002"), "invalid bool"),
        (bytes.fromhex("03100000"), "unsupported argument type id 8"),
        (bytes.fromhex("03020101"), "singleton field marker"),
        (bytes.fromhex("050c0002c328"), "not valid UTF-8"),
    ],
)
def test_bad_messages_say_why(data: bytes, reason: str) -> None:
    with pytest.raises(GobError, match=reason):
        decode_gob(data)


@given(st.binary(max_size=80))
@settings(max_examples=200, deadline=None)
def test_any_bytes_give_a_value_or_a_gob_error(data: bytes) -> None:
    """Whatever a peer sends as a gob argument, the only failure is a GobError (an ERROR reply)."""
    with contextlib.suppress(GobError):
        decode_gob(data)


@given(st.one_of(st.booleans(), st.text(max_size=300), st.integers(-(2**63), 2**63 - 1)))
def test_encoded_like_go_decodes_back(value: bool | str | int) -> None:
    """Messages built with gob's rules (as Go's encoder writes them) decode to the value."""

    def uint(u: int) -> bytes:
        if u < 0x80:
            return bytes([u])
        raw = u.to_bytes((u.bit_length() + 7) // 8, "big")
        return bytes([0x100 - len(raw)]) + raw

    def sint(v: int) -> int:
        return v << 1 if v >= 0 else (~v << 1) | 1

    if isinstance(value, bool):
        type_id, body = 1, uint(int(value))
    elif isinstance(value, str):
        raw = value.encode()
        type_id, body = 6, uint(len(raw)) + raw
    else:
        type_id, body = 2, uint(sint(value))
    message = uint(sint(type_id)) + b"\x00" + body
    assert decode_gob(uint(len(message)) + message) == value
