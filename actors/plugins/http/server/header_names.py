"""Header names, classified once and cached: the response writer's and the request parser's.

Every request and response carries the same few names, so each is looked at (validated,
lower-cased, decoded) once and then found with one dict lookup.  Both caches are bounded,
because clients and workers choose the names.
"""

from __future__ import annotations

__all__ = [
    "H_CLEN",
    "H_CONN",
    "H_DATE",
    "H_INVALID",
    "H_PLAIN",
    "H_TE",
    "KNOWN_REQUEST_NAMES",
    "R_CLEN",
    "R_EXPECT",
    "R_HOST",
    "R_PLAIN",
    "request_name",
    "response_name_kind",
]

# Response header names the writer treats specially.  One dict lookup per header classifies a name
# (and validates it) so header building stays a single loop.
H_PLAIN, H_DATE, H_CLEN, H_TE, H_CONN, H_INVALID = 0, 1, 2, 3, 4, 5
_SPECIAL_RESP = {
    "date": H_DATE,
    "content-length": H_CLEN,
    "transfer-encoding": H_TE,
    "connection": H_CONN,
}
_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
_resp_name_kind: dict[str, int] = {}
#: The name caches keep at most this many names of at most _NAME_CACHE_LEN characters: names
#: come from clients and workers, and must not pile up (4096 x 64 KiB was 256 MiB, kept forever).
#: A full cache starts over, so the names in use come back at once.
_NAME_CACHE_MAX = 4096
_NAME_CACHE_LEN = 64


def response_name_kind(name: str) -> int:
    """What the writer does with response header ``name``: an ``H_*`` kind (``H_INVALID`` for a
    name that is not an RFC 9110 token, which the writer drops)."""
    kind = _resp_name_kind.get(name)
    if kind is None:
        if name and all(c in _TOKEN_CHARS for c in name):
            kind = _SPECIAL_RESP.get(name.lower(), H_PLAIN)
        else:
            kind = H_INVALID
        if len(name) <= _NAME_CACHE_LEN:
            if len(_resp_name_kind) >= _NAME_CACHE_MAX:
                _resp_name_kind.clear()
            _resp_name_kind[name] = kind
    return kind


# Request header names the parser looks at: decoded once and cached with their meaning.
R_PLAIN, R_CLEN, R_EXPECT, R_HOST = 0, 1, 2, 3
_SPECIAL_REQ = {b"content-length": R_CLEN, b"expect": R_EXPECT, b"host": R_HOST}
#: Names seen, with their decoding and kind: the parser reads this first, and calls
#: :func:`request_name` only on a miss (one call fewer per header on the hot path).
KNOWN_REQUEST_NAMES: dict[bytes, tuple[str, int]] = {}
_req_names = KNOWN_REQUEST_NAMES


def request_name(raw: bytes) -> tuple[str, int]:
    """Request header name ``raw`` decoded (latin-1, as received) with its ``R_*`` kind."""
    entry = _req_names.get(raw)
    if entry is None:
        entry = (raw.decode("latin-1"), _SPECIAL_REQ.get(raw.lower(), R_PLAIN))
        if len(raw) <= _NAME_CACHE_LEN:
            if len(_req_names) >= _NAME_CACHE_MAX:
                _req_names.clear()
            _req_names[raw] = entry
    return entry
