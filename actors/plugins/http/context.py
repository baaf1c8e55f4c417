"""The request context Greenrunner sends to an http worker, and the response context it reads.

Greenrunner speaks RoadRunner's *legacy JSON* context (RR <= 2023.3, frame
flags ``CODEC_JSON``): every ``spiral/roadrunner-http`` release understands
it (3.5+ sniffs JSON vs protobuf on the first request, older ones only know
JSON), while the protobuf context of RR >= 2024.1 would shut out PHP stacks
pinned to 3.4 and older.  Responses are accepted in both shapes, JSON
(flags 0x00 / 0x08) and protobuf ``http.v1.Response`` (flags 0x80), so a
worker library that insists on protobuf still works.

The field values are RoadRunner's (``handler/request.go``): canonical header
names, ``Host`` only inside ``uri``, cookies unescaped like Go's
``url.QueryUnescape``, the body chosen by content type (:func:`prepare_body`).
Standard library only; no gevent needed.
"""

from __future__ import annotations

import json

try:  # orjson encodes the request context ~5x faster than json; optional at import time
    import orjson

    _HAVE_ORJSON = True
except ImportError:  # pragma: no cover - orjson is a declared dependency
    _HAVE_ORJSON = False
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from actors.plugins.http.forms.errors import FormError
from actors.plugins.http.forms.media_type import parse_media_type
from actors.plugins.http.forms.multipart import parse_multipart
from actors.plugins.http.forms.parsed_form import ParsedForm
from actors.plugins.http.forms.tree import tree_to_json, tree_to_jsonable
from actors.plugins.http.forms.urlencoded import parse_form_urlencoded
from relays import proto
from relays.frame import CODEC_JSON, CODEC_PROTO

__all__ = [
    "CODEC_JSON",
    "NO_STATUS",
    "FormError",
    "PreparedBody",
    "ResponseContextError",
    "UnknownStatusError",
    "absolute_uri",
    "build_request_context",
    "canonical_header_key",
    "parse_cookies",
    "parse_response_context",
    "prepare_body",
    "strip_port",
]

#: Status returned by :func:`parse_response_context` for a frame without a context:
#: such a frame only appends body bytes (a status line, if not sent yet, is 200).
NO_STATUS = 0

Header = tuple[str | bytes, str | bytes]


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


# ---------------------------------------------------------------- header names

_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_canonical_cache: dict[str, str] = {}
_CACHE_LIMIT = 4096
_CACHE_NAME_LEN = 64


def canonical_header_key(name: str) -> str:
    """Go's ``textproto.CanonicalMIMEHeaderKey``: ``content-type`` -> ``Content-Type``.

    A name holding anything but token characters is returned unchanged, as
    Go does.  PHP frameworks look headers up case-insensitively, but code
    that reads ``$request->headers['Content-Type']`` directly relies on this
    exact form.  Results are memoised: a server sees the same few names.
    """
    cached = _canonical_cache.get(name)
    if cached is not None:
        return cached
    if not name or not all(c in _TOKEN for c in name):
        result = name
    else:
        out = []
        upper = True
        for c in name:
            if upper and "a" <= c <= "z":
                c = c.upper()
            elif not upper and "A" <= c <= "Z":
                c = c.lower()
            out.append(c)
            upper = c == "-"
        result = "".join(out)
    if len(name) <= _CACHE_NAME_LEN:  # names come from clients: keep only short ones
        if len(_canonical_cache) >= _CACHE_LIMIT:
            _canonical_cache.clear()  # start over: the names in use come back at once
        _canonical_cache[name] = result
    return result


def _text(value: str | bytes) -> str:
    # Go keeps header bytes as they are and its JSON encoder turns invalid
    # UTF-8 into U+FFFD; decoding with "replace" gives the same JSON.
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


# ---------------------------------------------------------------- request fields


def strip_port(addr: str) -> str:
    """The peer address without its port (``FetchIP``).

    ``127.0.0.1:5555`` -> ``127.0.0.1``, ``[::1]:5555`` -> ``::1``; a value
    without a port (``10.0.0.1``, a bare ``::1``) is returned as is.
    """
    if addr.startswith("["):
        end = addr.find("]")
        return addr[1:end] if end > 0 else addr
    if addr.count(":") == 1:
        return addr.partition(":")[0]
    return addr


def absolute_uri(host: str, target: str, scheme: str = "http") -> str:
    """``scheme://host`` + request target, or an absolute-form target as is; CR/LF removed."""
    if "://" in target[:16] and not target.startswith("/"):
        uri = target
    else:
        uri = f"{scheme}://{host}{target}"
    if "\r" in uri or "\n" in uri:
        uri = uri.replace("\r", "").replace("\n", "")
    return uri


_COOKIE_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _cookie_value_ok(value: str) -> bool:
    for c in value:
        o = ord(c)
        if o < 0x20 or o >= 0x7F or c in '";\\':
            return False
    return True


def parse_cookies(lines: Iterable[str]) -> dict[str, str]:
    """Cookies of the ``Cookie`` header lines, as RoadRunner puts them in the context.

    Go's ``readCookies`` rules (token names, value bytes 0x20..0x7e without
    ``" ; \\``, surrounding quotes stripped), then ``url.QueryUnescape``
    (``+`` is a space); a cookie whose value fails to unescape is dropped.
    A later cookie with the same name wins.
    """
    cookies: dict[str, str] = {}
    for line in lines:
        for part in line.split(";"):
            part = part.strip(" \t")
            if not part:
                continue
            name, _, value = part.partition("=")
            name = name.strip(" \t")
            if not name or not all(c in _TOKEN for c in name):
                continue
            if len(value) > 1 and value[0] == '"' and value[-1] == '"':
                value = value[1:-1]
            if not _cookie_value_ok(value):
                continue
            if "%" in value:
                if _COOKIE_BAD_ESCAPE.search(value):
                    continue
                value = unquote_to_bytes(value.replace("+", " ")).decode("utf-8", "replace")
            elif "+" in value:
                value = value.replace("+", " ")
            cookies[name] = value
    return cookies


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _dumps(obj: Any) -> bytes:
    """Compact JSON, UTF-8.  orjson when it can; the stdlib for lone surrogates and the like."""
    if _HAVE_ORJSON:
        try:
            return orjson.dumps(obj)
        except (TypeError, orjson.JSONEncodeError):
            pass
    return _ENCODER.encode(obj).encode("utf-8", "replace")


def build_request_context(
    *,
    remote_addr: str,
    protocol: str,
    method: str,
    uri: str,
    headers: Iterable[Header],
    cookies: Mapping[str, str] | None = None,
    raw_query: str | None = None,
    parsed: bool = False,
    uploads: Mapping[str, Any] | None = None,
    attributes: Mapping[str, Any] | None = None,
    scheme: str = "http",
) -> bytes:
    """Encode the JSON request context (§1.5.5) exactly as PHP 3.x reads it.

    ``uri`` is the request target as received (``/path?q``) or an already
    absolute URL; the context always carries ``scheme://Host/path?q``.
    ``headers`` are the raw request headers in wire order (str or bytes);
    names are canonicalised and grouped, ``Host`` and ``Transfer-Encoding``
    are dropped as Go's server does.  ``cookies`` defaults to the parsed
    ``Cookie`` headers, ``raw_query`` to the part of ``uri`` after ``?``.
    ``uploads`` is the file tree of a parsed multipart body (``null`` when
    absent).  Key order is Go's struct order; headers, cookies and the
    uploads tree are sorted like Go maps.
    """
    grouped: dict[str, list[str]] = {}
    host = ""
    cookie_lines: list[str] = []
    for raw_name, raw_value in headers:
        name = canonical_header_key(_text(raw_name))
        value = _text(raw_value)
        if name == "Host":
            if not host:
                host = value
            continue
        if name == "Transfer-Encoding":
            continue
        if name == "Cookie":
            cookie_lines.append(value)
        values = grouped.get(name)
        if values is None:
            grouped[name] = [value]
        else:
            values.append(value)
    if raw_query is None:
        _, _, raw_query = uri.partition("?")
    if "\r" in raw_query or "\n" in raw_query:
        raw_query = raw_query.replace("\r", "").replace("\n", "")
    context = {
        "remoteAddr": strip_port(remote_addr),
        "protocol": protocol,
        "method": method,
        "uri": absolute_uri(host, uri, scheme),
        "headers": {k: grouped[k] for k in sorted(grouped)},
        "cookies": dict(
            sorted((parse_cookies(cookie_lines) if cookies is None else cookies).items())
        ),
        "rawQuery": raw_query,
        "parsed": parsed,
        "uploads": None if uploads is None else tree_to_jsonable(uploads),
        "attributes": dict(sorted(attributes.items())) if attributes else {},
    }
    return _dumps(context)


# ---------------------------------------------------------------- request body


@dataclass(slots=True)
class PreparedBody:
    """The frame body for a request, and what the context must say about it.

    Pass ``parsed`` and ``uploads`` to :func:`build_request_context`; call
    :meth:`cleanup` after the response is written (it deletes upload temp
    files; a no-op otherwise).
    """

    body: bytes
    parsed: bool = False
    uploads: dict[str, Any] | None = None
    form: ParsedForm | None = None

    def cleanup(self) -> None:
        if self.form is not None:
            self.form.cleanup()


_FORM_METHODS = frozenset(("POST", "PUT", "PATCH"))


def prepare_body(
    method: str,
    content_type: str | None,
    body: bytes,
    *,
    raw_body: bool = False,
    uploads_dir: str | None = None,
    forbid: Iterable[str] = (),
    allow: Iterable[str] = (),
    owner: tuple[int, int] | None = None,
) -> PreparedBody:
    """Choose the frame body by content type (§1.5.3).

    * ``HEAD`` / ``OPTIONS``: empty body (RoadRunner never reads it).
    * ``Content-Type`` containing ``application/x-www-form-urlencoded``:
      the JSON form tree, ``parsed=True``.  As in Go's ``ParseForm`` only
      POST, PUT and PATCH bodies are read, so other methods get ``{}``.
    * containing ``multipart/form-data``: the JSON tree of the non-file
      fields, files written to ``uploads_dir`` and described in ``uploads``.
    * ``raw_body`` or any other type: the bytes as received.

    An empty parsed form is sent as ``{}`` (what RR's JSON mode sent).
    ``content_type`` is the first ``Content-Type`` value (Go's ``Header.Get``).
    Raises :class:`FormError` for a malformed multipart body or a form tree
    conflict; nothing is left on disk then.
    """
    if method in ("HEAD", "OPTIONS"):
        return PreparedBody(b"")
    ct = content_type or ""
    if "application/x-www-form-urlencoded" in ct:
        if raw_body:
            return PreparedBody(body)
        media, _ = parse_media_type(ct)
        if method in _FORM_METHODS and media == "application/x-www-form-urlencoded":
            form = parse_form_urlencoded(body)
            return PreparedBody(tree_to_json(form.data), parsed=True)
        return PreparedBody(b"{}", parsed=True)
    if "multipart/form-data" in ct:
        if raw_body:
            return PreparedBody(body)
        form = parse_multipart(
            body, ct, uploads_dir=uploads_dir, forbid=forbid, allow=allow, owner=owner
        )
        try:
            data = tree_to_json(form.data)
        except BaseException:
            form.cleanup()
            raise
        return PreparedBody(data, parsed=True, uploads=form.uploads, form=form)
    return PreparedBody(body)


# ---------------------------------------------------------------- response


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
        obj = orjson.loads(data) if _HAVE_ORJSON else json.loads(data)
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
        if not name or not all(c in _TOKEN for c in name):
            continue
        key = canonical_header_key(name)
        headers.extend((key, _clean_value(v)) for v in values)
    return status, headers
