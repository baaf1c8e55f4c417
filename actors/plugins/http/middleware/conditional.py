"""Conditional and range requests for ``static``, as Go's ``http.ServeContent`` decides them
(RoadRunner's static middleware hands every file to it).

Pure functions of the request headers and the file's validators, so they are tested without a
server.
"""

from __future__ import annotations

import email.utils
from enum import Enum

__all__ = ["Precondition", "check_preconditions", "parse_range"]


class Precondition(Enum):
    """What the validators say: serve, answer 304, or answer 412."""

    SERVE = 0
    NOT_MODIFIED = 304
    FAILED = 412


def _http_date(text: str) -> float | None:
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return parsed.timestamp() if parsed is not None else None


def _etags(header: str) -> list[str]:
    return [t.strip() for t in header.split(",") if t.strip()]


def _opaque(tag: str) -> str:
    return tag[2:] if tag.startswith("W/") else tag


def _strong_match(header: str, etag: str) -> bool:
    if not etag or etag.startswith("W/"):
        return False
    return any(t == "*" or t == etag for t in _etags(header))


def _weak_match(header: str, etag: str) -> bool:
    return any(t == "*" or (etag and _opaque(t) == _opaque(etag)) for t in _etags(header))


def check_preconditions(
    method: str, get: dict[str, str], etag: str, mtime: int
) -> tuple[Precondition, bool]:
    """``(verdict, range_allowed)`` for a request with headers ``get`` (lower-case names) on a
    file whose validators are ``etag`` ("" if none) and ``mtime`` (whole seconds).

    Order of RFC 9110 §13.2.2, as Go: If-Match / If-Unmodified-Since, then If-None-Match /
    If-Modified-Since, then If-Range (a failed If-Range only drops the Range).
    """
    if_match = get.get("if-match")
    if if_match is not None:
        if not _strong_match(if_match, etag):
            return Precondition.FAILED, False
    else:
        ius = get.get("if-unmodified-since")
        if ius and mtime > 0:
            when = _http_date(ius)
            if when is not None and mtime > when:
                return Precondition.FAILED, False
    safe = method in ("GET", "HEAD")
    inm = get.get("if-none-match")
    if inm is not None:
        if _weak_match(inm, etag):
            return (Precondition.NOT_MODIFIED if safe else Precondition.FAILED), False
    elif safe:
        ims = get.get("if-modified-since")
        if ims and mtime > 0:
            when = _http_date(ims)
            if when is not None and mtime <= when:
                return Precondition.NOT_MODIFIED, False
    if_range = get.get("if-range")
    if if_range:
        if if_range.startswith(('"', 'W/"')):
            return Precondition.SERVE, _strong_match(if_range, etag)
        when = _http_date(if_range)
        return Precondition.SERVE, when is not None and mtime > 0 and int(when) == mtime
    return Precondition.SERVE, True


class RangeError(ValueError):
    """A Range header that cannot be served: the answer is 416."""


def parse_range(header: str, size: int) -> list[tuple[int, int]] | None:
    """Go's ``parseRange``: ``[(start, length), ...]``, None for no usable range (serve the
    whole file); raises :class:`RangeError` for a malformed header or no overlap with the file.
    """
    if not header:
        return None
    if not header.startswith("bytes="):
        raise RangeError("invalid range")
    ranges: list[tuple[int, int]] = []
    no_overlap = False
    for spec in header[6:].split(","):
        spec = spec.strip(" \t")
        if not spec:
            continue
        first, sep, last = spec.partition("-")
        first, last = first.strip(" \t"), last.strip(" \t")
        if not sep:
            raise RangeError("invalid range")
        if not first:
            # -N: the last N bytes.
            if not last.isdigit():
                raise RangeError("invalid range")
            n = min(int(last), size)
            if n == 0 and int(last) == 0:
                no_overlap = True
                continue
            ranges.append((size - n, n))
            continue
        if not first.isdigit() or (last and not last.isdigit()):
            raise RangeError("invalid range")
        start = int(first)
        if start >= size:
            no_overlap = True
            continue
        if not last:
            end = size - 1
        else:
            end = int(last)
            if start > end:
                raise RangeError("invalid range")
            end = min(end, size - 1)
        ranges.append((start, end - start + 1))
    if no_overlap and not ranges:
        raise RangeError("invalid range: failed to overlap")
    if sum(length for _, length in ranges) > size:
        return None  # Go: asking for more than the file is likely an attack; send it whole
    return ranges or None
