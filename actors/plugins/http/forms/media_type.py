"""``Content-Type`` and ``Content-Disposition`` values, read like Go's ``mime.ParseMediaType``."""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

__all__ = ["parse_media_type"]


_TSPECIALS = frozenset('()<>@,;:\\"/[]?=')
_PARAM_RE = re.compile(r"""\s*;\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)""", re.DOTALL)


def _unquote(value: str) -> str:
    """Undo a quoted-string: a backslash escapes only tspecials (Go's ``consumeValue``),
    so Windows paths sent unescaped by browsers survive."""
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value.strip()
    inner = value[1:-1]
    if "\\" not in inner:
        return inner
    out = []
    i = 0
    while i < len(inner):
        ch = inner[i]
        if ch == "\\" and i + 1 < len(inner) and inner[i + 1] in _TSPECIALS:
            out.append(inner[i + 1])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _decode_2231(value: str) -> str | None:
    """Decode an RFC 2231 extended value ``charset'lang'%XX...``."""
    parts = value.split("'", 2)
    if len(parts) != 3:
        return None
    charset = parts[0].lower() or "us-ascii"
    if charset not in ("utf-8", "us-ascii", "iso-8859-1", "latin-1"):
        return None
    try:
        return unquote_to_bytes(parts[2]).decode(charset)
    except (UnicodeDecodeError, LookupError):
        return None


def parse_media_type(value: str) -> tuple[str, dict[str, str]]:
    """Parse ``type/sub; k=v; k2="v 2"`` into (lower-cased type, params).

    Parameter names are lower-cased; ``name*=`` (RFC 2231, also split into
    ``name*0*=`` continuations) wins over ``name=``, as in Go's
    ``mime.ParseMediaType``.
    """
    semi = value.find(";")
    media = (value if semi < 0 else value[:semi]).strip().lower()
    params: dict[str, str] = {}
    if semi < 0:
        return media, params
    extended: dict[str, str] = {}
    continued: dict[str, dict[int, tuple[bool, str]]] = {}
    for match in _PARAM_RE.finditer(value, semi):
        key = match.group(1).lower()
        raw = match.group(2).rstrip()
        if "*" in key:
            base, _, rest = key.partition("*")
            if rest == "":
                decoded = _decode_2231(_unquote(raw))
                if decoded is not None:
                    extended[base] = decoded
                continue
            star = rest.endswith("*")
            num = rest[:-1] if star else rest
            if num.isdigit():
                continued.setdefault(base, {})[int(num)] = (star, _unquote(raw))
            continue
        params.setdefault(key, _unquote(raw))
    for base, pieces in continued.items():
        if base in extended or 0 not in pieces:
            continue
        chunks = []
        for idx in range(len(pieces)):
            if idx not in pieces:
                break
            chunks.append(pieces[idx])
        if chunks[0][0]:
            # Extended pieces are percent-encoded, plain ones literal: escape
            # the plain ones' "%" so the whole can be decoded in one go.
            joined = chunks[0][1] + "".join(
                text if star else text.replace("%", "%25") for star, text in chunks[1:]
            )
            decoded = _decode_2231(joined)
            if decoded is not None:
                extended[base] = decoded
        else:
            params[base] = "".join(text for _, text in chunks)
    params.update(extended)
    return media, params
