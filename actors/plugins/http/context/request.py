"""The JSON request context a worker receives (RoadRunner's ``handler/request.go``).

Canonical header names, ``Host`` only inside ``uri``, cookies unescaped like Go's
``url.QueryUnescape``; key order is Go's struct order and maps are sorted like Go's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from actors.plugins.http.context.cookies import parse_cookies
from actors.plugins.http.context.header_keys import canonical_header_key
from actors.plugins.http.context.json_codec import dumps
from actors.plugins.http.forms.tree import tree_to_jsonable

__all__ = ["Header", "absolute_uri", "build_request_context", "strip_port"]


#: A request header as a caller may give it: text, or the bytes received.
Header = tuple[str | bytes, str | bytes]


def _text(value: str | bytes) -> str:
    # Go keeps header bytes as they are and its JSON encoder turns invalid
    # UTF-8 into U+FFFD; decoding with "replace" gives the same JSON.
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


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
    """Encode the JSON request context exactly as PHP 3.x reads it.

    The fields are listed in ``docs/protocol.md`` ("HTTP request context").

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
    host, sorted_headers, cookie_lines, parsed_cookies = _header_fields(headers)
    if raw_query is None:
        _, _, raw_query = uri.partition("?")
    if "\r" in raw_query or "\n" in raw_query:
        raw_query = raw_query.replace("\r", "").replace("\n", "")
    context = {
        "remoteAddr": strip_port(remote_addr),
        "protocol": protocol,
        "method": method,
        "uri": absolute_uri(host, uri, scheme),
        "headers": sorted_headers,
        "cookies": (
            parsed_cookies
            if cookies is None
            else dict(sorted(cookies.items()))
            if cookie_lines or cookies
            else {}
        ),
        "rawQuery": raw_query,
        "parsed": parsed,
        "uploads": None if uploads is None else tree_to_jsonable(uploads),
        "attributes": dict(sorted(attributes.items())) if attributes else {},
    }
    return dumps(context)


_Fields = tuple[str, dict[str, list[str]], tuple[str, ...], dict[str, str]]
#: Header sections seen recently, by their exact (name, value) pairs: clients repeat theirs
#: on every request, so canonicalising, grouping, sorting and parsing cookies happens once.
_FIELDS_CACHE: dict[tuple[Header, ...], _Fields] = {}
_FIELDS_CACHE_MAX = 256
#: Larger header sections (in characters) are worked out each time, not kept.
_FIELDS_CACHE_ENTRY = 4096


def _header_fields(headers: Iterable[Header]) -> _Fields:
    """``(host, headers, cookie lines, cookies)`` of a header section, for the context.

    The two dicts are shared by every request with the same section: read them, never change
    them (they only go to the JSON encoder).
    """
    key = tuple(headers)
    hit = _FIELDS_CACHE.get(key)
    if hit is not None:
        return hit
    grouped: dict[str, list[str]] = {}
    host = ""
    cookie_lines: list[str] = []
    size = 0
    for raw_name, raw_value in key:
        name = canonical_header_key(raw_name if type(raw_name) is str else _text(raw_name))
        value = raw_value if type(raw_value) is str else _text(raw_value)
        size += len(name) + len(value)
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
    hit = (
        host,
        {k: grouped[k] for k in sorted(grouped)},
        tuple(cookie_lines),
        dict(sorted(parse_cookies(cookie_lines).items())) if cookie_lines else {},
    )
    if size <= _FIELDS_CACHE_ENTRY:
        if len(_FIELDS_CACHE) >= _FIELDS_CACHE_MAX:
            _FIELDS_CACHE.clear()
        _FIELDS_CACHE[key] = hit
    return hit
