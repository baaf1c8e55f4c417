"""The JSON request context a worker receives (RoadRunner's ``handler/request.go``).

Canonical header names, ``Host`` only inside ``uri``, cookies unescaped like Go's
``url.QueryUnescape``; key order is Go's struct order and maps are sorted like Go's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from actors.plugins.http.context.cookies import parse_cookies
from actors.plugins.http.context.header_keys import canonical_header_key
from actors.plugins.http.context.json_codec import dumps, fast_dumps
from actors.plugins.http.forms.tree import tree_to_jsonable

__all__ = [
    "Header",
    "HeaderSection",
    "absolute_uri",
    "build_request_context",
    "encode_plain_context",
    "strip_port",
    "wire_header_section",
    "wire_text",
]


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
    hit, size = _work_out_fields(key)
    if size <= _FIELDS_CACHE_ENTRY:
        if len(_FIELDS_CACHE) >= _FIELDS_CACHE_MAX:
            _FIELDS_CACHE.clear()
        _FIELDS_CACHE[key] = hit
    return hit


def _work_out_fields(key: tuple[Header, ...]) -> tuple[_Fields, int]:
    """:func:`_header_fields` without its cache, and the section's size in characters."""
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
    fields = (
        host,
        {k: grouped[k] for k in sorted(grouped)},
        tuple(cookie_lines),
        dict(sorted(parse_cookies(cookie_lines).items())) if cookie_lines else {},
    )
    return fields, size


class HeaderSection:
    """A received header section as the context needs it, worked out once per distinct section.

    ``headers`` and ``cookies`` are shared by every request with the same section: read them,
    never change them.  ``json`` is their encoding (``"headers":{..},"cookies":{..}``), made
    once, so a request whose section was seen before encodes only what varies: its address,
    method, target and query (:func:`encode_plain_context`).
    """

    __slots__ = ("content_type", "cookies", "headers", "host", "json", "uri_host")

    def __init__(self, headers: list[tuple[str, str]], received: Iterable[tuple[str, str]]) -> None:
        # Not _header_fields: this section is cached in _SECTIONS, not a second time there.
        (self.host, self.headers, _, self.cookies), _ = _work_out_fields(tuple(headers))
        #: The first ``Content-Type`` value as received (None without one): it decides whether
        #: a form is read.
        self.content_type: str | None = None
        for name, value in received:
            if name.lower() == "content-type":
                self.content_type = value
                break
        self.json = dumps({"headers": self.headers, "cookies": self.cookies})[1:-1]
        #: The host as the URI carries it (:func:`absolute_uri` drops CR and LF).
        self.uri_host = self.host.replace("\r", "").replace("\n", "")


#: Sections by their exact received pairs (latin-1 text), bounded like :data:`_FIELDS_CACHE`.
_SECTIONS: dict[tuple[tuple[str, str], ...], HeaderSection] = {}


def wire_header_section(headers: list[tuple[str, str]]) -> HeaderSection:
    """The :class:`HeaderSection` of headers as the HTTP server received them (latin-1 text),
    read as UTF-8 like :func:`wire_text`, on the first sight of a section only."""
    key = tuple(headers)
    hit = _SECTIONS.get(key)
    if hit is not None:
        return hit
    hit = HeaderSection(wire_text(key), key)
    if sum(len(n) + len(v) for n, v in key) <= _FIELDS_CACHE_ENTRY:
        if len(_SECTIONS) >= _FIELDS_CACHE_MAX:
            _SECTIONS.clear()
        _SECTIONS[key] = hit
    return hit


def wire_text(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Received headers (latin-1 text, i.e. the exact bytes) as the text Go's JSON shows.

    RoadRunner hands header bytes to Go's JSON encoder, which reads them as UTF-8 (invalid
    sequences become U+FFFD).  So the UTF-8 bytes of ``é`` must reach the worker as ``é``, not
    as ``Ã©``.  ASCII values (the usual case) are kept as they are.
    """
    return [
        (name, value if value.isascii() else value.encode("latin-1").decode("utf-8", "replace"))
        for name, value in headers
    ]


#: ``"protocol":..,"method":..`` by (protocol, method), and ``"remoteAddr":..`` by peer address:
#: a handful of values, each encoded once.
_VERB_JSON: dict[tuple[str, str], bytes] = {}
_ADDR_JSON: dict[str, bytes] = {}
_SMALL_CACHE_MAX = 1024


def encode_plain_context(
    section: HeaderSection,
    remote_addr: str,
    protocol: str,
    method: str,
    target: str,
    raw_query: str,
    scheme: str = "http",
) -> bytes:
    """The context :func:`build_request_context` encodes for a request without a parsed body
    (``parsed`` false, no uploads, no attributes, the section's own cookies), byte for byte.

    Built from encoded fragments rather than a dict encoded whole: the header section, the peer
    address and the method line are encoded once, and only the URI and the query per request.
    ``target`` and ``raw_query`` come from the HTTP parser, which lets no CR or LF through.
    """
    addr = _ADDR_JSON.get(remote_addr)
    if addr is None:
        if len(_ADDR_JSON) >= _SMALL_CACHE_MAX:
            _ADDR_JSON.clear()
        addr = _ADDR_JSON[remote_addr] = dumps(strip_port(remote_addr))
    verb = _VERB_JSON.get((protocol, method))
    if verb is None:
        if len(_VERB_JSON) >= _SMALL_CACHE_MAX:
            _VERB_JSON.clear()
        verb = dumps({"protocol": protocol, "method": method})[1:-1]
        _VERB_JSON[(protocol, method)] = verb
    if target[:1] == "/" and "\r" not in target and "\n" not in target:
        uri = f"{scheme}://{section.uri_host}{target}"  # what absolute_uri makes of it
    else:
        uri = absolute_uri(section.host, target, scheme)
    try:
        uri_json = fast_dumps(uri)
    except Exception:  # orjson refuses what the stdlib encoder accepts (lone surrogates)
        uri_json = dumps(uri)
    return b'{"remoteAddr":%b,%b,"uri":%b,%b,"rawQuery":%b,%b}' % (
        addr,
        verb,
        uri_json,
        section.json,
        dumps(raw_query) if raw_query else b'""',
        _PLAIN_TAIL,
    )


_PLAIN_TAIL = b'"parsed":false,"uploads":null,"attributes":{}'
