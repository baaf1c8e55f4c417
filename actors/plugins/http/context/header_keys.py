"""Header names the way Go writes them: ``textproto.CanonicalMIMEHeaderKey``, memoised."""

from __future__ import annotations

__all__ = ["TOKEN_CHARS", "canonical_header_key"]

#: RFC 9110 token characters: what a header (or cookie) name may hold.
TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
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
    if not name or not all(c in TOKEN_CHARS for c in name):
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
