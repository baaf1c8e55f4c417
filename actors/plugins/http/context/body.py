"""The frame body a worker receives for a request, chosen by content type, as RoadRunner does.

Forms are parsed here (:mod:`actors.plugins.http.forms`) so that the worker gets RoadRunner's
JSON trees, not the raw body, unless ``http.raw_body`` is on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from actors.plugins.http.forms.media_type import parse_media_type
from actors.plugins.http.forms.multipart import parse_multipart
from actors.plugins.http.forms.parsed_form import ParsedForm
from actors.plugins.http.forms.tree import tree_to_json
from actors.plugins.http.forms.urlencoded import parse_form_urlencoded

__all__ = ["PreparedBody", "prepare_body"]


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
    """Choose the frame body by content type, as RoadRunner does.

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
