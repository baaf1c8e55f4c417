"""The ``Cookie`` header lines as RoadRunner puts them in the request context."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote_to_bytes

from actors.plugins.http.context.header_keys import TOKEN_CHARS

__all__ = ["parse_cookies"]


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
            if not name or not all(c in TOKEN_CHARS for c in name):
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
