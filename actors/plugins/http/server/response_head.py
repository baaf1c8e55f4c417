"""The bytes of a response head: header lines, the ``Date`` line, and canned error responses.

Header lines are validated and encoded in one pass (framing headers removed: the writer owns
framing), and the few header sets a worker answers with over and over are encoded once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from email.utils import formatdate
from typing import Any

from actors.plugins.http.server.header_names import (
    H_CLEN,
    H_CONN,
    H_DATE,
    H_INVALID,
    H_TE,
    response_name_kind,
)
from actors.plugins.http.server.status import status_line, status_text

__all__ = ["Headers", "date_line", "encode_headers", "simple_response", "whole_head"]

#: Response headers as a handler gives them: a tuple (hashable, so its encoding is cached, see
#: :func:`encode_headers`) or a list (encoded every time).
Headers = Sequence[tuple[str, str]]

_date_cache: list[Any] = [0, b""]


def date_line() -> bytes:
    """The ``Date`` header line, formatted at most once per second (Go sends it on every reply)."""
    now = int(time.time())
    if now != _date_cache[0]:
        _date_cache[0] = now
        _date_cache[1] = f"Date: {formatdate(now, usegmt=True)}\r\n".encode("latin-1")
    return _date_cache[1]


_HEAD_CACHE: dict[tuple[tuple[str, str], ...], tuple[bytes, int, bool, bool]] = {}
_HEAD_CACHE_MAX = 512
#: Larger header blocks are encoded each time: 512 of them could hold hundreds of MiB.
_HEAD_CACHE_ENTRY = 8192


def encode_headers(headers: Headers, date: bool = True) -> tuple[bytes, int, bool]:
    """Encode handler headers; an immutable (tuple) header set is encoded once and cached.

    Workers answer the same few header sets over and over, and the http
    plugin hands them over as tuples, so the common case is one dict lookup.
    """
    if type(headers) is tuple:
        hit = _HEAD_CACHE.get(headers)
        if hit is None:
            hit = _encode_header_lines(headers)
            if len(hit[0]) <= _HEAD_CACHE_ENTRY:
                if len(_HEAD_CACHE) >= _HEAD_CACHE_MAX:
                    _HEAD_CACHE.clear()
                _HEAD_CACHE[headers] = hit
        data, clen, close, has_date = hit
    else:
        data, clen, close, has_date = _encode_header_lines(headers)
    if date and not has_date:
        data += date_line()
    return data, clen, close


#: Whole heads (status line, header lines, Date) by (status, header tuple), for the second
#: ``_WHOLE_SECOND[0]``: the Date line changes once a second, and the cache with it.
_WHOLE_HEADS: dict[tuple[int, tuple[tuple[str, str], ...]], tuple[bytes, bool]] = {}
_WHOLE_SECOND = [0]


def whole_head(status: int, headers: Headers) -> tuple[bytes, bool]:
    """The status line, header lines and ``Date`` line of a response, and whether the handler
    asked for ``Connection: close``: what the usual answer needs, in one lookup.

    For a tuple of headers (what the http plugin hands over) the bytes are cached for the
    current second; the writer adds ``Content-Length`` and the blank line.
    """
    if type(headers) is tuple:
        now = int(time.time())
        if now != _WHOLE_SECOND[0]:
            _WHOLE_SECOND[0] = now
            _WHOLE_HEADS.clear()
        key = (status, headers)
        hit = _WHOLE_HEADS.get(key)
        if hit is None:
            data, _, close = encode_headers(headers)
            hit = (status_line(status) + data, close)
            if len(hit[0]) <= _HEAD_CACHE_ENTRY and len(_WHOLE_HEADS) < _HEAD_CACHE_MAX:
                _WHOLE_HEADS[key] = hit
        return hit
    data, _, close = encode_headers(headers)
    return status_line(status) + data, close


def _encode_header_lines(headers: Iterable[tuple[str, str]]) -> tuple[bytes, int, bool, bool]:
    """Validate and encode handler headers in one pass.

    Returns the encoded lines, the handler's Content-Length (-1 if none) and whether it asked for
    ``Connection: close``.  Framing headers (Content-Length, Transfer-Encoding, Connection) are
    removed because the writer owns framing; names that are not RFC 9110 tokens are dropped and
    CR/LF in values become spaces, like Go's header writer, so a worker cannot inject headers.
    Values are text and leave as UTF-8, which is what Go writes for the same string: a worker's
    ``é`` must reach the client as the bytes the worker meant, not as latin-1.  Lone surrogates
    (``surrogateescape``, how the response decoders keep non-UTF-8 bytes) become those bytes again.
    """
    lines: list[str] = []
    clen = -1
    close = False
    has_date = False
    for name, value in headers:
        kind = response_name_kind(name)
        if kind:
            if kind == H_INVALID:
                continue
            if kind == H_DATE:
                has_date = True
            elif kind == H_CLEN:
                # ASCII digits only, like Go's ParseInt (Python's int() also takes "1_0").
                digits = value.strip()
                clen = int(digits) if digits.isascii() and digits.isdigit() else -1
                continue
            elif kind == H_TE:
                continue
            elif kind == H_CONN:
                if "close" in value.lower():
                    close = True
                continue
        if "\n" in value or "\r" in value:
            value = value.replace("\r", " ").replace("\n", " ")
        lines.append(f"{name}: {value}\r\n")
    text = "".join(lines)
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that stands for no byte (U+D800, ...)
        data = text.encode("utf-8", "replace")
    return data, clen, close, has_date


def simple_response(
    status: int, detail: str = "", *, close: bool = True, head: bool = False
) -> bytes:
    """A complete plain-text error response in Go's shape (``400 Bad Request: <detail>``).

    ``head``: the answer to a HEAD request, whose body is announced but not sent.
    """
    body = f"{status} {status_text(status)}"
    if detail:
        body += f": {detail}"
    data = body.encode("utf-8")
    lines = (
        status_line(status)
        + date_line()
        + b"Content-Type: text/plain; charset=utf-8\r\n"
        + b"Content-Length: %d\r\n" % len(data)
        + (b"Connection: close\r\n" if close else b"")
        + b"\r\n"
    )
    return lines if head else lines + data
