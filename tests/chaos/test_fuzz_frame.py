"""Fuzzing the goridge frame decoder (issue 9): random, truncated and oversized streams.

``FrameReader`` may only ever raise :class:`FrameError` or :class:`RelayClosedError`, and with
``max_payload`` set it never asks its source for (or buffers) more than one allowed frame
plus one read chunk, whatever a header announces.
"""

from __future__ import annotations

import contextlib
import struct
import zlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relays.frame import (
    HEADER_SIZE,
    MAX_OPTIONS,
    Frame,
    FrameError,
    FrameReader,
    RelayClosedError,
    encode_frame,
)

CHUNK = 64
MAX_PAYLOAD = 256
#: The most a reader with ``max_payload`` may hold: the largest header, the payload, a read.
BOUND = (3 + MAX_OPTIONS) * 4 + MAX_PAYLOAD + CHUNK

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _header(size: int, hl: int = 3, flags: int = 0, byte10: int = 0) -> bytes:
    """A header with a valid CRC announcing ``size`` payload bytes (maybe a lie)."""
    head = struct.pack("<BBI", 0x10 | hl, flags, size)
    return head + struct.pack("<I", zlib.crc32(head)) + bytes((byte10, 0))


valid_frames = st.builds(
    encode_frame,
    st.binary(max_size=300),
    st.integers(0, 255),
    st.integers(0, 255),
    st.lists(st.integers(0, 2**32 - 1), max_size=MAX_OPTIONS),
)
oversized = st.builds(
    _header, st.integers(MAX_PAYLOAD + 1, 2**32 - 1), st.integers(3, 3 + MAX_OPTIONS)
)
pieces = st.one_of(valid_frames, oversized, st.binary(max_size=64))


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    """Frames, lies and noise glued together, cut anywhere, delivered in random reads."""
    data = b"".join(draw(st.lists(pieces, max_size=8)))
    data = data[: draw(st.integers(0, len(data)))]
    cuts = draw(st.lists(st.integers(1, 97), max_size=40))
    return data, cuts


class Source:
    """A byte stream served in uneven reads; checks what the reader asks for."""

    def __init__(self, data: bytes, cuts: list[int], reader_bound: int | None) -> None:
        self.data = data
        self.cuts = cuts or [CHUNK]
        self.pos = 0
        self.reads = 0
        self.reader: FrameReader | None = None
        self.bound = reader_bound

    def recv(self, n: int) -> bytes:
        if self.bound is not None and self.reader is not None:
            held = len(self.reader.buffered)
            assert held + n <= self.bound, (
                f"reader holds {held} bytes and asks for {n} more: unbounded with max_payload"
            )
        size = min(n, self.cuts[self.reads % len(self.cuts)])
        self.reads += 1
        out = self.data[self.pos : self.pos + size]
        self.pos += len(out)
        return out


def _drain(reader: FrameReader, limit: int) -> list[Frame]:
    frames: list[Frame] = []
    for _ in range(limit):
        try:
            frame = reader.read_frame()
        except (FrameError, RelayClosedError):
            return frames
        frames.append(frame)
        if not frame.is_control and frame.options:
            with contextlib.suppress(FrameError):
                frame.split()
    raise AssertionError(f"{limit} frames from a stream that cannot hold that many")


@FUZZ
@given(streams())
def test_frame_reader_raises_only_frame_errors(stream: tuple[bytes, list[int]]) -> None:
    data, cuts = stream
    source = Source(data, cuts, None)
    reader = FrameReader(source.recv, chunk=CHUNK)
    _drain(reader, len(data) // HEADER_SIZE + 2)


@FUZZ
@given(streams())
def test_frame_reader_memory_is_bounded_with_max_payload(stream: tuple[bytes, list[int]]) -> None:
    data, cuts = stream
    source = Source(data, cuts, BOUND)
    reader = FrameReader(source.recv, chunk=CHUNK)
    reader.max_payload = MAX_PAYLOAD
    source.reader = reader
    for frame in _drain(reader, len(data) // HEADER_SIZE + 2):
        assert len(frame.payload) <= MAX_PAYLOAD


@FUZZ
@given(valid_frames, st.lists(st.integers(1, 97), max_size=20))
def test_valid_frames_decode_whatever_the_reads(frame: bytes, cuts: list[int]) -> None:
    """The fuzzer's own control: good frames in uneven reads come back intact."""
    reader = FrameReader(Source(frame + frame, cuts, None).recv, chunk=CHUNK)
    first, second = reader.read_frame(), reader.read_frame()
    assert first == second and first.encode() == frame
