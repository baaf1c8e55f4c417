"""The goridge RPC framing on top of goridge frames (``relays.frame``).

A request frame carries exactly two options: ``options[0]`` the call's sequence number,
``options[1]`` the byte length of the method name.  The payload is the method name
(``Service.Method``) immediately followed by the encoded argument; the frame's codec flag
says how the argument is encoded.  A reply echoes both options and the method name, then the
encoded result; an error reply sets ``ERROR`` and carries the error text instead
(``roadrunner-server/goridge`` ``pkg/rpc/codec.go``).
"""

from __future__ import annotations

from dataclasses import dataclass

from actors.rpc.errors import WireError
from relays.frame import (
    CODEC_GOB,
    CODEC_JSON,
    CODEC_MSGPACK,
    CODEC_PROTO,
    CODEC_RAW,
    ERROR,
    Frame,
    encode_frame,
)

__all__ = ["MAX_FRAME", "Request", "decode_request", "encode_error", "encode_reply", "pick_codec"]

#: The largest request payload accepted (32 MiB).  A peer announcing more is disconnected
#: before anything is buffered, so one connection never holds more than this much memory.
MAX_FRAME = 32 << 20

# When several codec bits are set, goridge's server picks them in this order.
_CODEC_ORDER = (CODEC_PROTO, CODEC_JSON, CODEC_RAW, CODEC_MSGPACK, CODEC_GOB)


@dataclass(frozen=True, slots=True)
class Request:
    """One decoded call: ``method`` is text, ``method_bytes`` the exact bytes to echo."""

    seq: int
    method_bytes: bytes
    codec: int
    body: bytes

    @property
    def method(self) -> str:
        """The ``Service.Method`` name (undecodable bytes kept as surrogates, never lost)."""
        return self.method_bytes.decode("utf-8", "surrogateescape")


def pick_codec(flags: int) -> int:
    """The request's codec: the first of proto, JSON, raw, msgpack, gob set; none means gob."""
    for codec in _CODEC_ORDER:
        if flags & codec:
            return codec
    return CODEC_GOB


def decode_request(frame: Frame) -> Request:
    """Split a request frame; :class:`WireError` when it is not an RPC request at all."""
    if len(frame.options) != 2:
        raise WireError(
            "should be 2 options. SEQ_ID and METHOD_LEN, got "
            f"{len(frame.options)}: this peer does not speak goridge RPC"
        )
    seq, size = frame.options
    payload = frame.payload
    if size > len(payload):
        raise WireError(f"method name length {size} exceeds the payload length {len(payload)}")
    return Request(seq, payload[:size], pick_codec(frame.flags), payload[size:])


def encode_reply(seq: int, method: bytes, flags: int, body: bytes) -> bytes:
    """A reply frame: ``method + body`` with the request's sequence and method length."""
    return encode_frame(method + body, flags, 0, (seq, len(method)))


def encode_error(seq: int, method: bytes, codec: int, text: str) -> bytes:
    """An error reply: the request's codec with ``ERROR`` set, the text after the method."""
    return encode_reply(seq, method, codec | ERROR, text.encode("utf-8", "replace"))
