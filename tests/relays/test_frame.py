"""Goridge v1 codec: byte-exact vectors from the specs and round trips."""

from __future__ import annotations

import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relays.frame import (
    CODEC_JSON,
    CODEC_PROTO,
    CONTROL,
    ERROR,
    PONG,
    STOP,
    STREAM,
    Frame,
    FrameError,
    FrameReader,
    FrameTooLargeError,
    RelayClosedError,
    encode_data_frame,
    encode_frame,
    parse_header,
)


def reader_over(data: bytes, chunk: int = 7) -> FrameReader:
    """A reader over ``data`` served in small pieces, to exercise partial reads."""
    view = memoryview(data)
    pos = 0

    def recv(n: int) -> bytes:
        nonlocal pos
        piece = bytes(view[pos : pos + min(n, chunk)])
        pos += len(piece)
        return piece

    return FrameReader(recv, chunk=chunk)


def hx(text: str) -> str:
    """Hex as the specs print it, spaces allowed."""
    return text.replace(" ", "")


# vectors captured from RoadRunner and the PHP library (docs/protocol.md, "Control frames")
CORE_VECTORS = [
    (
        encode_frame(b'{"pid":15038}', CONTROL | CODEC_JSON),
        hx("13 09 0d000000 3a6bfacb 00 00 7b22706964223a31353033387d"),
    ),
    (
        encode_frame(b'{"stop":true}', CONTROL | CODEC_JSON),
        hx("13 09 0d000000 3a6bfacb 00 00 7b2273746f70223a747275657d"),
    ),
    (
        encode_frame(b'{"pid":15091}', CONTROL),
        hx("13 01 0d000000 fb208afb 00 00") + b'{"pid":15091}'.hex(),
    ),
    (
        encode_data_frame(b'CTX:{"a":1}', b"BODY:hello"),
        hx("14 00 15000000 8346424e 00 00 0b000000") + b'CTX:{"a":1}BODY:hello'.hex(),
    ),
    (
        encode_frame(b"boom from php", ERROR),
        hx("13 40 0d000000 0251199e 00 00") + b"boom from php".hex(),
    ),
    (encode_frame(b"", 0, PONG), hx("13 00 00000000 96d18034 08 00")),
    (encode_frame(b"", 0, STOP), hx("13 00 00000000 96d18034 02 00")),
]


@pytest.mark.parametrize(("encoded", "expected"), CORE_VECTORS)
def test_core_spec_vectors(encoded: bytes, expected: str) -> None:
    assert encoded.hex() == expected
    frame = reader_over(encoded).read_frame()
    assert frame.encode() == encoded


# goridge frames of the stated lengths (payloads invented)
PLUGIN_VECTORS = [
    (
        encode_data_frame(b"c" * 85, b"", CODEC_PROTO),
        hx("14 80 55 00 00 00 2c ae b0 64 00 00 55 00 00 00"),
    ),
    (
        encode_data_frame(b"c" * 33, b"Hello", CODEC_PROTO),
        hx("14 80 26 00 00 00 5e a1 3a 1d 00 00 21 00 00 00"),
    ),
    (
        encode_data_frame(b"c" * 33, b"Hello!", CODEC_PROTO, STREAM),
        hx("14 80 27 00 00 00 3b c6 86 a5 01 00 21 00 00 00"),
    ),
    (encode_frame(b"boom", ERROR), hx("13 40 04 00 00 00 88 1e 11 e3 00 00 62 6f 6f 6d")),
    (encode_frame(b"", 0, STOP), hx("13 00 00 00 00 00 96 d1 80 34 02 00")),
    (encode_frame(b"", 0, PONG), hx("13 00 00 00 00 00 96 d1 80 34 08 00")),
    (
        encode_frame(b'{"stop":true}', CONTROL | CODEC_JSON),
        hx("13 09 0d 00 00 00 3a 6b fa cb 00 00 7b 22 73 74 6f 70 22 3a 74 72 75 65 7d"),
    ),
]


@pytest.mark.parametrize(("encoded", "prefix"), PLUGIN_VECTORS)
def test_plugin_spec_vectors(encoded: bytes, prefix: str) -> None:
    assert encoded.hex().startswith(prefix)
    assert reader_over(encoded).read_frame().encode() == encoded


def test_data_frame_splits_context_and_body() -> None:
    frame = reader_over(encode_data_frame(b"ctx", b"body", CODEC_JSON, STREAM)).read_frame()
    assert frame.options == (3,)
    assert frame.split() == (b"ctx", b"body")
    assert frame.flags == CODEC_JSON
    assert frame.is_stream and not frame.is_ping


@settings(max_examples=150, deadline=None)
@given(
    payload=st.binary(max_size=2048),
    flags=st.integers(0, 255),
    byte10=st.integers(0, 255),
    options=st.lists(st.integers(0, 2**32 - 1), max_size=10),
    chunk=st.integers(1, 64),
)
def test_round_trip(
    payload: bytes, flags: int, byte10: int, options: list[int], chunk: int
) -> None:
    data = encode_frame(payload, flags, byte10, options)
    frame = reader_over(data + data, chunk=chunk).read_frame()
    assert frame == Frame(flags, byte10, tuple(options), payload)
    assert frame.encode() == data


@settings(max_examples=100, deadline=None)
@given(
    context=st.binary(max_size=512),
    body=st.binary(max_size=512),
    flags=st.integers(0, 255),
    byte10=st.integers(0, 255),
)
def test_data_frame_round_trip(context: bytes, body: bytes, flags: int, byte10: int) -> None:
    data = encode_data_frame(context, body, flags, byte10)
    assert data == encode_frame(context + body, flags, byte10, [len(context)])
    reader = reader_over(data * 3, chunk=13)
    for _ in range(3):
        frame = reader.read_frame()
        assert frame.split() == (context, body)
    with pytest.raises(RelayClosedError):
        reader.read_frame()


def test_clean_eof_is_relay_closed() -> None:
    with pytest.raises(RelayClosedError):
        reader_over(b"").read_frame()


def test_truncated_header() -> None:
    data = encode_frame(b"abc")[:7]
    with pytest.raises(FrameError, match="middle of a frame") as info:
        reader_over(data).read_frame()
    assert info.value.received == data
    with pytest.raises(FrameError, match="truncated frame header"):
        parse_header(data)


def test_truncated_payload() -> None:
    data = encode_frame(b"abcdef")[:-2]
    with pytest.raises(FrameError, match="middle of a frame"):
        reader_over(data).read_frame()


def test_bad_crc() -> None:
    data = bytearray(encode_frame(b"abc"))
    data[6] ^= 0xFF
    with pytest.raises(FrameError, match="CRC mismatch") as info:
        reader_over(bytes(data)).read_frame()
    assert info.value.received == bytes(data[:12])


def test_text_is_not_a_frame() -> None:
    with pytest.raises(FrameError, match="CRC") as info:
        reader_over(b"hello from python\n").read_frame()
    assert b"hello from p" in info.value.received


def _header_with_hl(hl: int) -> bytes:
    head = struct.pack("<BBI", (1 << 4) | hl, 0, 0)
    return head + struct.pack("<I", zlib.crc32(head)) + b"\0\0"


@pytest.mark.parametrize("hl", [0, 1, 2, 14, 15])
def test_header_length_out_of_range(hl: int) -> None:
    with pytest.raises(FrameError, match=f"header length {hl} out of range"):
        reader_over(_header_with_hl(hl) + b"\0" * 64).read_frame()


@pytest.mark.parametrize("hl", [3, 13])
def test_header_length_bounds_accepted(hl: int) -> None:
    frame = reader_over(_header_with_hl(hl) + b"\0" * 4 * (hl - 3)).read_frame()
    assert len(frame.options) == hl - 3


def test_more_than_ten_options_refused() -> None:
    with pytest.raises(ValueError, match="at most 10 options"):
        encode_frame(b"", 0, 0, list(range(11)))
    assert len(encode_frame(b"", 0, 0, list(range(10)))) == 12 + 40


def test_version_is_not_checked() -> None:
    # Neither Go nor PHP checks the version nibble: a reader must not either.
    head = struct.pack("<BBI", (7 << 4) | 3, 0, 2)
    data = head + struct.pack("<I", zlib.crc32(head)) + b"\0\0ok"
    assert reader_over(data).read_frame().payload == b"ok"


def test_split_requires_one_option() -> None:
    with pytest.raises(FrameError, match="options length should be equal 1"):
        Frame(0, 0, (), b"x").split()
    with pytest.raises(FrameError, match="exceeds payload length"):
        Frame(0, 0, (5,), b"x").split()


class _Writes:
    """A byte source that hands out one write per ``recv``, as a pipe does to a reader that keeps
    up with its writer: the case where a whole frame arrives in one read."""

    def __init__(self, *writes: bytes) -> None:
        self._writes = list(writes)

    def recv(self, n: int) -> bytes:
        if not self._writes:
            return b""
        head = self._writes[0]
        if len(head) > n:
            self._writes[0] = head[n:]
            return head[:n]
        return self._writes.pop(0)


def test_whole_frames_one_per_read() -> None:
    a = encode_data_frame(b'{"status":200}', b"first", CODEC_JSON)
    b = encode_frame(b'{"pid":1}', CONTROL)
    reader = FrameReader(_Writes(a, b).recv)
    first = reader.read_frame()
    assert (first.flags, first.split()) == (CODEC_JSON, (b'{"status":200}', b"first"))
    second = reader.read_frame()
    assert (second.flags, second.options, second.payload) == (CONTROL, (), b'{"pid":1}')
    assert reader.buffered == b""
    with pytest.raises(RelayClosedError):
        reader.read_frame()


def test_frames_sharing_a_read_and_a_frame_split_across_reads() -> None:
    a, b, c = (encode_data_frame(b"ctx", body) for body in (b"a", b"bb", b"c" * 100))
    reader = FrameReader(_Writes(a + b, c[:20], c[20:]).recv)
    assert [reader.read_frame().split()[1] for _ in range(3)] == [b"a", b"bb", b"c" * 100]
    with pytest.raises(RelayClosedError):
        reader.read_frame()


def test_whole_frame_over_the_limit_is_refused() -> None:
    reader = FrameReader(_Writes(encode_data_frame(b"", b"x" * 100)).recv)
    reader.max_payload = 99
    with pytest.raises(FrameTooLargeError):
        reader.read_frame()


def test_text_in_one_read_stays_buffered_for_the_diagnosis() -> None:
    text = b"hello from python: this line is not a frame\n"
    reader = FrameReader(_Writes(text).recv)
    with pytest.raises(FrameError, match="CRC"):
        reader.read_frame()
    assert reader.buffered == text  # what the relay quotes to name the offending print
