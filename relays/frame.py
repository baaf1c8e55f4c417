"""Goridge v1 frames: the one place where frame bytes are encoded and decoded.

Layout (all integers little-endian)::

    0      byte   version << 4 | HL   (HL = header length in 32-bit words, 3..13)
    1      byte   flags               (CONTROL, codecs, ERROR)
    2..5   u32    payload length      (options not included)
    6..9   u32    CRC-32/IEEE of bytes 0..5 only
    10     byte   stream flags        (STREAM, STOP, PING, PONG)
    11     byte   reserved, 0
    12..   u32 *  HL-3 options (at most 10)
    ...    bytes  payload

Worker data frames carry exactly one option, the length of the context part
of the payload (``payload = context + body``).  Standard library only: the
worker SDK imports this module inside worker processes.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "CODEC_GOB",
    "CODEC_JSON",
    "CODEC_MSGPACK",
    "CODEC_PROTO",
    "CODEC_RAW",
    "CONTROL",
    "ERROR",
    "HEADER_SIZE",
    "PING",
    "PONG",
    "STOP",
    "STREAM",
    "VERSION",
    "Frame",
    "FrameError",
    "FrameReader",
    "FrameTooLargeError",
    "RelayClosedError",
    "encode_data_frame",
    "encode_frame",
    "parse_header",
]

VERSION = 1
HEADER_SIZE = 12
MAX_OPTIONS = 10

# byte 1: flags
CONTROL = 0x01
CODEC_RAW = 0x04
CODEC_JSON = 0x08
CODEC_MSGPACK = 0x10
CODEC_GOB = 0x20
ERROR = 0x40
CODEC_PROTO = 0x80

# byte 10: stream flags
STREAM = 0x01
STOP = 0x02
PING = 0x04
PONG = 0x08

_HEAD6 = struct.Struct("<BBI")
_CRC = struct.Struct("<I")
_FULL = struct.Struct("<BBIIBB")
#: A data frame's header and its one option (the context length), as one struct.
_FULL4 = struct.Struct("<BBIIBBI")
#: A data frame's CRC, byte 10, reserved byte and option.
_TAIL4 = struct.Struct("<IBBI")
_HL4 = (VERSION << 4) | 4


class FrameError(Exception):
    """A frame that does not follow goridge v1.

    ``received`` holds the raw bytes read so far, so that callers can quote
    them: the usual cause is a worker printing text on the stdout that the
    pipes relay owns.
    """

    def __init__(self, reason: str, received: bytes = b"") -> None:
        self.reason = reason
        self.received = received
        super().__init__(f"{reason}; bytes received: {received[:256]!r}")


class FrameTooLargeError(FrameError):
    """A frame header announced more payload than :attr:`FrameReader.max_payload`.

    Raised on the header alone, before any payload byte is buffered, so a peer
    announcing 4 GiB costs the reader nothing.  ``size`` is the announced payload
    length, ``limit`` the cap in force.
    """

    def __init__(self, size: int, limit: int, header: bytes) -> None:
        self.size = size
        self.limit = limit
        super().__init__(
            f"frame announces {size} payload bytes, more than the {limit} allowed here", header
        )


class RelayClosedError(EOFError):
    """The peer closed the relay (process exited or connection dropped)."""


@dataclass(slots=True)
class Frame:
    """A decoded frame.  ``options`` is empty for control, error and ping frames."""

    flags: int = 0
    byte10: int = 0
    options: tuple[int, ...] = ()
    payload: bytes = b""

    @property
    def is_control(self) -> bool:
        return bool(self.flags & CONTROL)

    @property
    def is_error(self) -> bool:
        return bool(self.flags & ERROR)

    @property
    def is_stream(self) -> bool:
        return bool(self.byte10 & STREAM)

    @property
    def is_stop(self) -> bool:
        return bool(self.byte10 & STOP)

    @property
    def is_ping(self) -> bool:
        return bool(self.byte10 & PING)

    @property
    def is_pong(self) -> bool:
        return bool(self.byte10 & PONG)

    def split(self) -> tuple[bytes, bytes]:
        """Return ``(context, body)`` of a data frame.

        Raises :class:`FrameError` when the frame lacks the single context
        length option or the option points past the payload.
        """
        if len(self.options) != 1:
            raise FrameError(
                f"options length should be equal 1 (body offset), got {len(self.options)}",
                self.payload[:64],
            )
        offset = self.options[0]
        if offset > len(self.payload):
            raise FrameError(
                f"bad payload: context length {offset} exceeds payload length {len(self.payload)}",
                self.payload[:64],
            )
        payload = self.payload
        return payload[:offset], payload[offset:]

    def encode(self) -> bytes:
        return encode_frame(self.payload, self.flags, self.byte10, self.options)


def encode_frame(
    payload: bytes = b"",
    flags: int = 0,
    byte10: int = 0,
    options: Sequence[int] = (),
) -> bytes:
    """Encode one frame; byte-identical to the Go and PHP writers."""
    n = len(options)
    if n > MAX_OPTIONS:
        raise ValueError(f"a frame carries at most {MAX_OPTIONS} options, got {n}")
    head = _HEAD6.pack((VERSION << 4) | (3 + n), flags, len(payload))
    crc = zlib.crc32(head)
    if n == 0:
        return head + _CRC.pack(crc) + bytes((byte10, 0)) + payload
    return b"".join(
        (head, _CRC.pack(crc), bytes((byte10, 0)), struct.pack(f"<{n}I", *options), payload)
    )


def encode_data_frame(context: bytes, body: bytes, flags: int = 0, byte10: int = 0) -> bytes:
    """Encode a worker data frame: one option holding ``len(context)``.

    The CRC, byte 10 and the option leave in one ``pack`` (every request frame comes here).
    """
    head = _HEAD6.pack(_HL4, flags, len(context) + len(body))
    return b"".join((head, _TAIL4.pack(zlib.crc32(head), byte10, 0, len(context)), context, body))


def parse_header(header: bytes) -> tuple[int, int, int, int]:
    """Validate a 12-byte header; return ``(hl, flags, payload_len, byte10)``.

    The version nibble is not checked (neither Go nor PHP checks it).
    """
    if len(header) < HEADER_SIZE:
        raise FrameError(
            f"truncated frame header: got {len(header)} of {HEADER_SIZE} bytes", header
        )
    b0, flags, size, crc, byte10, _ = _FULL.unpack_from(header)
    if zlib.crc32(header[:6]) != crc:
        raise FrameError("frame header CRC mismatch (not a goridge frame)", header)
    hl = b0 & 0x0F
    if hl < 3 or hl > 3 + MAX_OPTIONS:
        raise FrameError(f"frame header length {hl} out of range 3..13", header)
    return hl, flags, size, byte10


class FrameReader:
    """Reads whole frames from a byte source, buffering to save system calls.

    ``recv(n)`` must return up to ``n`` bytes and ``b""`` at end of stream;
    it may block (a socket, a pipe, or a gevent wrapper around either).
    """

    __slots__ = ("_buf", "_recv", "chunk", "max_payload")

    def __init__(self, recv: Callable[[int], bytes], chunk: int = 65536) -> None:
        self._recv = recv
        self._buf = bytearray()
        self.chunk = chunk
        #: Refuse frames announcing more than this many payload bytes (None: no limit),
        #: with :class:`FrameTooLargeError` on the header. Tight during the pid handshake
        #: (a stray client of a socket relay); ``server.max_frame_size`` afterwards, so a
        #: worker cannot make the server buffer 4 GiB either.
        self.max_payload: int | None = None

    @property
    def buffered(self) -> bytes:
        """Bytes read from the source but not yet consumed by a frame."""
        return bytes(self._buf)

    def _fill(self, need: int) -> None:
        buf = self._buf
        while len(buf) < need:
            data = self._recv(max(self.chunk, need - len(buf)))
            if not data:
                if buf:
                    raise FrameError(
                        f"relay closed in the middle of a frame ({len(buf)} of {need} bytes)",
                        bytes(buf),
                    )
                raise RelayClosedError("relay closed (EOF)")
            buf += data

    def read_frame(self) -> Frame:
        """Return the next frame; raise :class:`RelayClosedError` on a clean EOF."""
        buf = self._buf
        if not buf:
            # The usual case: nothing buffered, and one read brings exactly one whole frame
            # (a worker writes each frame at once). It is cut out of the bytes read, with no
            # copy through the buffer.
            data = self._recv(self.chunk)
            if not data:
                raise RelayClosedError("relay closed (EOF)")
            if len(data) >= 16:
                # A data frame (one option) whole in this read, as a worker's answer is: one
                # unpack, no header parse call.  Anything else takes the general path below.
                b0, flags, size, crc, byte10, _, offset = _FULL4.unpack_from(data)
                if (
                    b0 & 0x0F == 4
                    and len(data) == 16 + size
                    and zlib.crc32(data[:6]) == crc
                    and (self.max_payload is None or size <= self.max_payload)
                ):
                    return Frame(flags, byte10, (offset,), data[16:])
            if len(data) >= HEADER_SIZE:
                try:
                    hl, flags, size, byte10 = parse_header(data[:HEADER_SIZE])
                except FrameError:
                    buf += data  # kept for the diagnosis (``buffered``): what the worker wrote
                    raise
                total = hl * 4 + size
                if len(data) == total and (self.max_payload is None or size <= self.max_payload):
                    nopt = hl - 3
                    options = struct.unpack_from(f"<{nopt}I", data, HEADER_SIZE) if nopt else ()
                    return Frame(flags, byte10, options, data[hl * 4 :])
            buf += data
        self._fill(HEADER_SIZE)
        hl, flags, size, byte10 = parse_header(bytes(buf[:HEADER_SIZE]))
        if self.max_payload is not None and size > self.max_payload:
            raise FrameTooLargeError(size, self.max_payload, bytes(buf[:HEADER_SIZE]))
        total = hl * 4 + size
        if len(buf) < total:
            self._fill(total)
        nopt = hl - 3
        options = struct.unpack_from(f"<{nopt}I", buf, HEADER_SIZE) if nopt else ()
        start = hl * 4
        payload = bytes(buf[start:total])
        del buf[:total]
        return Frame(flags, byte10, options, payload)
