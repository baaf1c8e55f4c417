"""``multipart/form-data`` bodies: a byte-exact scanner, then fields to a tree and files to temp
files, like Go's ``mime/multipart`` reader and RoadRunner's ``handler/uploads.go``.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from actors.plugins.http.forms.errors import FormError
from actors.plugins.http.forms.media_type import parse_media_type
from actors.plugins.http.forms.parsed_form import ParsedForm
from actors.plugins.http.forms.tree import build_file_tree, build_tree
from actors.plugins.http.forms.uploads import FileUpload

__all__ = ["MultipartPart", "iter_multipart", "parse_multipart"]


@dataclass(slots=True)
class MultipartPart:
    """One ``form-data`` part.  ``filename`` is None for a plain field.

    ``data`` is a memoryview into the request body: no copy of a large file
    part is made before it is written to its temp file.
    """

    name: str
    filename: str | None
    content_type: str
    data: memoryview


def _parse_part_headers(block: bytes, nl: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    last = ""
    for line in block.split(nl):
        if not line:
            continue
        text = line.decode("utf-8", "replace")
        if text[0] in " \t" and last:
            headers[last] += " " + text.strip()
            continue
        name, sep, value = text.partition(":")
        if not sep:
            raise FormError(f"malformed MIME header line: {text[:100]}")
        last = name.strip().lower()
        headers.setdefault(last, value.strip())
    return headers


def _is_delimiter_end(body: bytes, at: int, nl: bytes) -> bool:
    """True when the bytes right after ``--boundary`` make it a real delimiter:
    ``--`` (close), or optional spaces/tabs then a line break, or the end."""
    if body.startswith(b"--", at):
        return True
    end = len(body)
    while at < end and body[at] in b" \t":
        at += 1
    return at == end or body.startswith(nl, at) or body.startswith(b"\n", at)


def iter_multipart(body: bytes, boundary: str) -> Iterator[MultipartPart]:
    """Yield the ``form-data`` parts of a multipart body.

    A hand-written scanner rather than :mod:`email`: ``bytes.find`` walks a
    10 MiB file part at memory speed, content stays byte-exact (CR, LF and
    ``--`` inside a file are data unless they form a real delimiter), and
    part data is handed out as memoryviews.  Accepts a preamble, transport
    padding after a delimiter and, like Go, bare-LF line breaks when the first
    delimiter line uses them.  Parts without a ``form-data`` name are skipped,
    as ``Part.FormName`` does.  Raises :class:`FormError` on a truncated body.
    """
    if not boundary:
        raise FormError("no multipart boundary param in Content-Type")
    dash = b"--" + boundary.encode("latin-1", "replace")
    view = memoryview(body)
    if body.startswith(dash):
        pos = 0
    else:
        i = body.find(b"\n" + dash)
        while i >= 0 and not _is_delimiter_end(body, i + 1 + len(dash), b"\r\n"):
            i = body.find(b"\n" + dash, i + 1)
        if i < 0:
            raise FormError("multipart: NextPart: EOF")
        pos = i + 1
    pos += len(dash)
    nl: bytes | None = None
    while True:
        if body.startswith(b"--", pos):
            return
        eol = body.find(b"\n", pos)
        if eol < 0:
            raise FormError("multipart: NextPart: EOF")
        if nl is None:
            nl = b"\r\n" if eol > 0 and body[eol - 1] == 0x0D else b"\n"
        pos = eol + 1
        if body.startswith(nl, pos):
            headers_block = b""
            start = pos + len(nl)
        else:
            hend = body.find(nl + nl, pos)
            if hend < 0:
                raise FormError("multipart: NextPart: EOF")
            headers_block = body[pos:hend]
            start = hend + 2 * len(nl)
        marker = nl + dash
        end = body.find(marker, start)
        while end >= 0 and not _is_delimiter_end(body, end + len(marker), nl):
            end = body.find(marker, end + 1)
        if end < 0:
            raise FormError("multipart: NextPart: unexpected EOF")
        pos = end + len(marker)
        headers = _parse_part_headers(headers_block, nl)
        disposition = headers.get("content-disposition", "")
        dtype, dparams = parse_media_type(disposition)
        name = dparams.get("name", "")
        if dtype != "form-data" or not name:
            continue
        filename = dparams.get("filename")
        data = view[start:end]
        if headers.get("content-transfer-encoding", "").lower() == "quoted-printable":
            # Go's multipart reader decodes these transparently.
            data = memoryview(binascii.a2b_qp(bytes(data)))
        yield MultipartPart(
            name=name,
            filename=None if filename is None else (_go_base(filename) if filename else ""),
            content_type=headers.get("content-type", ""),
            data=data,
        )


def parse_multipart(
    body: bytes,
    content_type: str,
    *,
    uploads_dir: str | None = None,
    forbid: Iterable[str] = (),
    allow: Iterable[str] = (),
    owner: tuple[int, int] | None = None,
) -> ParsedForm:
    """Parse a ``multipart/form-data`` body: fields to a tree, files to temp files.

    The whole body is scanned and both trees are built before any file is
    written, so a malformed body or a key conflict (:class:`FormError`)
    leaves nothing on disk.  ``forbid``/``allow`` hold extensions with the
    dot (``.php``); they are compared lower-cased, an extension in both lists
    is forbidden.  ``owner`` (uid, gid) chowns each temp file when both are
    non-zero, for workers running as another user.
    """
    media, params = parse_media_type(content_type)
    if media != "multipart/form-data":
        raise FormError("request Content-Type isn't multipart/form-data")
    boundary = params.get("boundary", "")
    values: dict[str, list[str]] = {}
    files: dict[str, list[FileUpload]] = {}
    every_file: list[FileUpload] = []
    for part in iter_multipart(body, boundary):
        if part.filename is None:
            values.setdefault(part.name, []).append(bytes(part.data).decode("utf-8", "replace"))
            continue
        upload = FileUpload(name=part.filename, mime=part.content_type, content=part.data)
        files.setdefault(part.name, []).append(upload)
        every_file.append(upload)
    uploads = build_file_tree(files.items())
    data = build_tree(values.items())
    forbidden = frozenset(e.lower() for e in forbid)
    allowed = frozenset(e.lower() for e in allow)
    form = ParsedForm(data=data, uploads=uploads, files=every_file)
    try:
        for upload in every_file:
            upload.open(uploads_dir, forbidden, allowed, owner)
    except BaseException:
        form.cleanup()
        raise
    return form


def _go_base(name: str) -> str:
    """Go's ``filepath.Base`` on Unix (what ``Part.FileName`` applies)."""
    if not name:
        return "."
    stripped = name.rstrip("/")
    if not stripped:
        return "/"
    return stripped[stripped.rfind("/") + 1 :]
