"""The worker's response context: status and headers, in JSON or protobuf, decoded and cached.

Responses are accepted in both shapes, JSON (flags 0x00 / 0x08) and protobuf
``http.v1.Response`` (flags 0x80), so a worker library that insists on protobuf still works.
"""

from __future__ import annotations

from actors.plugins.http.context.header_keys import TOKEN_CHARS, canonical_header_key
from actors.plugins.http.context.json_codec import loads
from relays import proto
from relays.frame import CODEC_PROTO

__all__ = ["NO_STATUS", "ResponseContextError", "UnknownStatusError", "parse_response_context"]


#: Status returned by :func:`parse_response_context` for a frame without a context:
#: such a frame only appends body bytes (a status line, if not sent yet, is 200).
NO_STATUS = 0


class ResponseContextError(ValueError):
    """The worker's response context is not a usable response.

    The server answers ``http.internal_error_code`` and logs the message.
    """


class UnknownStatusError(ResponseContextError):
    """A status outside 100..599; RoadRunner always answers a plain-text 500
    with this exact message (not ``internal_error_code``)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"unknown status code from worker: {status}")
        self.status = status


def _decode_proto_response(data: bytes) -> tuple[int, dict[str, list[str]]]:
    """``http.v1.Response{int64 status=1; map<string,HeaderValue> headers=2}``.

    Unknown fields are skipped, a repeated map key keeps its last entry
    (protobuf map semantics).  Header bytes are decoded as UTF-8 with
    ``surrogateescape`` so non-UTF-8 bytes survive to the wire.
    """
    status = 0
    headers: dict[str, list[str]] = {}
    try:
        for number, wire, value in proto.fields(data):
            if number == 1 and wire == proto.VARINT:
                assert isinstance(value, int)
                status = value - (1 << 64) if value >= 1 << 63 else value
            elif number == 2 and wire == proto.LEN:
                assert isinstance(value, bytes)
                key, values = proto.decode_header_map_entry(value)
                headers[key.decode("utf-8", "surrogateescape")] = [
                    v.decode("utf-8", "surrogateescape") for v in values
                ]
    except proto.ProtoError as exc:
        raise ResponseContextError(f"protobuf response context: {exc}") from None
    return status, headers


def _decode_json_response(data: bytes) -> tuple[int, dict[str, list[str]]]:
    """``{"status":200,"headers":{"Name":["v"]}}`` as PHP's ``json_encode`` writes it.

    Lenient where PHP users are sloppy: ``headers`` may be ``[]`` (an empty
    PHP array), a value may be a plain string; non-string list items are
    dropped, as the PHP library does in protobuf mode.
    """
    try:
        obj = loads(data)
    except (ValueError, UnicodeDecodeError) as exc:  # orjson.JSONDecodeError is a ValueError
        raise ResponseContextError(
            f"invalid JSON response context from worker: {exc}; context: {data[:200]!r}"
        ) from None
    if not isinstance(obj, dict):
        raise ResponseContextError(
            f"invalid JSON response context from worker: not an object; context: {data[:200]!r}"
        )
    status = obj.get("status", 0)
    if status is None:
        status = 0
    if isinstance(status, bool) or not isinstance(status, int):
        raise ResponseContextError(
            f"invalid JSON response context from worker: status must be an integer, got {status!r}"
        )
    raw_headers = obj.get("headers")
    headers: dict[str, list[str]] = {}
    if raw_headers is None or raw_headers == []:
        return status, headers
    if not isinstance(raw_headers, dict):
        raise ResponseContextError(
            "invalid JSON response context from worker: headers must be an object of "
            f"name -> [values], got {type(raw_headers).__name__}"
        )
    for name, values in raw_headers.items():
        if isinstance(values, str):
            headers[name] = [values]
        elif isinstance(values, list):
            headers[name] = [v for v in values if isinstance(v, str)]
        elif isinstance(values, dict):
            # PHP arrays with string keys encode as objects.
            headers[name] = [v for v in values.values() if isinstance(v, str)]
    return status, headers


def _clean_value(value: str) -> str:
    # Go's Header.Write turns CR/LF into spaces and trims: no header injection.
    if "\r" in value or "\n" in value:
        value = value.replace("\r", " ").replace("\n", " ")
    return value.strip(" \t")


_RESPONSE_CACHE: dict[tuple[int, bytes], tuple[int, tuple[tuple[str, str], ...]]] = {}
_RESPONSE_CACHE_MAX = 512
_RESPONSE_CACHE_ENTRY = 8192


def parse_response_context(flags: int, context: bytes) -> tuple[int, tuple[tuple[str, str], ...]]:
    """Decode a response context, remembering recent ones.

    A worker answers with the same few contexts (status + headers) over and
    over; decoding JSON and normalising headers for each response was the
    largest single cost of the server's request path.  Headers come back as
    an immutable tuple, which the HTTP front also caches encoded.
    """
    key = (flags, context)
    hit = _RESPONSE_CACHE.get(key)
    if hit is None:
        status, headers = _parse_response_context(flags, context)
        hit = (status, tuple(headers))
        if len(context) <= _RESPONSE_CACHE_ENTRY:  # 512 big contexts could hold a lot
            if len(_RESPONSE_CACHE) >= _RESPONSE_CACHE_MAX:
                _RESPONSE_CACHE.clear()
            _RESPONSE_CACHE[key] = hit
    return hit


def _parse_response_context(flags: int, context: bytes) -> tuple[int, list[tuple[str, str]]]:
    """Decode a worker's response context into ``(status, [(name, value), ...])``.

    JSON is recognised by its leading ``{`` whatever the flags (RR's JSON
    era ignored them); otherwise flags with ``CODEC_PROTO`` mean protobuf.
    An empty context returns ``(NO_STATUS, [])``: the frame only carries
    body bytes (PHP's closing frame of a cancelled stream looks like this).

    Header names come back canonicalised, invalid names are dropped and
    CR/LF in values become spaces (what Go writes on the wire); values are
    ``str`` and should be encoded with ``encode("utf-8", "surrogateescape")``
    to restore the exact bytes a protobuf worker sent.  Raises
    :class:`UnknownStatusError` for a status outside 100..599 and
    :class:`ResponseContextError` for anything undecodable.
    """
    if not context:
        return NO_STATUS, []
    first = context.lstrip(b" \t\r\n")[:1]
    if first == b"{" or not flags & CODEC_PROTO:
        status, named = _decode_json_response(context)
    else:
        status, named = _decode_proto_response(context)
    if status < 100 or status > 599:
        raise UnknownStatusError(status)
    headers: list[tuple[str, str]] = []
    for name, values in named.items():
        if not name or not all(c in TOKEN_CHARS for c in name):
            continue
        key = canonical_header_key(name)
        headers.extend((key, _clean_value(v)) for v in values)
    return status, headers
