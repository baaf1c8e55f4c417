"""Arguments in, results out, in the codec the caller chose.

- JSON (0x08, PHP's default): the method gets the decoded JSON value; the reply is JSON,
  ``bytes`` becoming base64 text as Go marshals ``[]byte``.
- raw (0x04) and proto (0x80): the method gets ``bytes`` (for proto it parses its own message)
  and must return ``bytes``, sent as they are.
- gob (0x20, the Go ``rr`` CLI): the method gets a ``bool``/``int``/``float``/``str``/``bytes``
  (:mod:`actors.rpc.gob`); the reply is JSON with flag 0x08, which the Go client decodes by
  the reply's own flag.
- msgpack (0x10): decoded and answered in msgpack (``bytes`` stay binary), with the
  ``msgpack`` package.

An empty argument decodes to ``None`` whatever the codec (net/rpc leaves the zero value).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import msgpack

from actors.rpc.errors import CallError
from actors.rpc.gob import decode_gob
from relays.frame import CODEC_GOB, CODEC_JSON, CODEC_MSGPACK, CODEC_PROTO, CODEC_RAW

__all__ = ["decode_argument", "encode_result"]

_NAMES = {
    CODEC_JSON: "JSON",
    CODEC_RAW: "raw",
    CODEC_PROTO: "proto",
    CODEC_GOB: "gob",
    CODEC_MSGPACK: "msgpack",
}


def decode_argument(codec: int, body: bytes, method: str) -> Any:
    """The method's argument; :class:`CallError` (an ERROR reply) when it does not decode."""
    if not body:
        return None
    if codec == CODEC_JSON:
        try:
            return json.loads(body)
        except ValueError as exc:
            raise CallError(f"json: cannot decode the argument of {method}: {exc}") from None
    if codec in (CODEC_RAW, CODEC_PROTO):
        return body
    if codec == CODEC_GOB:
        return decode_gob(body)
    if codec == CODEC_MSGPACK:
        try:
            return msgpack.unpackb(body, raw=False, strict_map_key=False)
        except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
            raise CallError(f"msgpack: cannot decode the argument of {method}: {exc}") from None
    raise CallError(
        f"the {_NAMES.get(codec, hex(codec))} codec is not supported by this server; "
        "send the argument as JSON (flag 0x08, PHP's JsonCodec) instead"
    )


def _json_default(value: object) -> object:
    """Encode ``bytes`` as Go does (base64 text); refuse anything else ``json`` cannot."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"json: unsupported type: {type(value).__name__}")


def _as_bytes(value: object, codec: int, method: str) -> bytes:
    """The body of a raw/proto reply: the method must return bytes (``None`` is empty)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if value is None:
        return b""
    raise CallError(
        f"unknown {_NAMES[codec].capitalize()} payload type: {method} returned "
        f"{type(value).__name__}, a {_NAMES[codec]} reply must be bytes"
    )


def encode_result(codec: int, value: object, method: str) -> tuple[int, bytes]:
    """``(reply flags, reply body)`` for a method's result; :class:`CallError` if it cannot be."""
    if codec in (CODEC_RAW, CODEC_PROTO):
        return codec, _as_bytes(value, codec, method)
    if codec == CODEC_MSGPACK:
        try:
            return CODEC_MSGPACK, msgpack.packb(value, use_bin_type=True)
        except (TypeError, ValueError, OverflowError) as exc:
            raise CallError(f"msgpack: cannot encode the result of {method}: {exc}") from None
    try:
        text = json.dumps(
            value, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_json_default
        )
    except (TypeError, ValueError) as exc:
        raise CallError(f"json: cannot encode the result of {method}: {exc}") from None
    return CODEC_JSON, text.encode("utf-8")
