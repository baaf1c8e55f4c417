"""``application/x-www-form-urlencoded`` bodies, grouped like Go's ``url.Values``."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from actors.plugins.http.forms.parsed_form import ParsedForm
from actors.plugins.http.forms.tree import build_tree

__all__ = ["parse_form_urlencoded", "parse_urlencoded"]


def parse_urlencoded(body: bytes | str) -> list[tuple[str, list[str]]]:
    """Parse an url-encoded body into ``(name, [values...])`` in first-seen order.

    Values of a repeated name are grouped like Go's ``url.Values``; ``+`` is
    a space, empty segments are skipped, a segment without ``=`` is a name
    with an empty value.  Percent-escapes are decoded to bytes first and the
    result read as UTF-8, so raw and escaped non-ASCII both come out right;
    bytes that are not UTF-8 become U+FFFD, which is what Go's JSON encoder
    does with them later anyway.  (:func:`urllib.parse.parse_qsl` cannot do
    this on bytes: it insists on ASCII input.)  Unlike Go's ``ParseQuery`` a
    ``;`` is data and a bad ``%`` escape is kept literally (no 400 for those).
    """
    raw = body.encode("utf-8", "surrogateescape") if isinstance(body, str) else body
    grouped: dict[str, list[str]] = {}
    for segment in raw.split(b"&"):
        if not segment:
            continue
        key, _, value = segment.partition(b"=")
        name = _form_unquote(key)
        values = grouped.get(name)
        if values is None:
            grouped[name] = [_form_unquote(value)]
        else:
            values.append(_form_unquote(value))
    return list(grouped.items())


def _form_unquote(raw: bytes) -> str:
    if b"+" in raw:
        raw = raw.replace(b"+", b" ")
    if b"%" in raw:
        raw = unquote_to_bytes(raw)
    return raw.decode("utf-8", "replace")


def parse_form_urlencoded(body: bytes) -> ParsedForm:
    """Parse an url-encoded body into a :class:`ParsedForm` (no uploads)."""
    return ParsedForm(data=build_tree(parse_urlencoded(body)))
