"""HTML forms and file uploads, shaped the way RoadRunner hands them to PHP.

RoadRunner does not give a worker the raw ``application/x-www-form-urlencoded``
or ``multipart/form-data`` body (unless ``http.raw_body`` is on): it parses the
form, mounts every field into a JSON tree with PHP's ``a[b][]`` key rules
(``handler/parse.go``), writes each uploaded file to a temporary file and sends
the file tree in the request context (``handler/uploads.go``).  PHP frameworks
read ``$_POST``/``$_FILES`` from exactly those shapes, so this module follows
the Go code rule by rule, quirks included (see the notes on each function).

Plain CPython, no gevent: the server calls it from a connection greenlet
(parsing is CPU work on bytes already in memory; writing the temp files is the
only blocking I/O, the same disk writes RoadRunner does).
"""

from __future__ import annotations

import binascii
import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes

__all__ = [
    "MAX_LEVEL",
    "UPLOAD_ERR_CANT_WRITE",
    "UPLOAD_ERR_EXTENSION",
    "UPLOAD_ERR_NO_FILE",
    "UPLOAD_ERR_NO_TMP_DIR",
    "UPLOAD_ERR_OK",
    "FileUpload",
    "FormError",
    "MultipartPart",
    "ParsedForm",
    "build_file_tree",
    "build_tree",
    "file_extension",
    "iter_multipart",
    "parse_form_urlencoded",
    "parse_media_type",
    "parse_multipart",
    "parse_urlencoded",
    "split_key",
    "tree_to_json",
    "tree_to_jsonable",
]

#: Keys with more segments than this are dropped silently (``parse.go MaxLevel``).
MAX_LEVEL = 127

# PHP's UPLOAD_ERR_* codes, the only ones RoadRunner produces.
UPLOAD_ERR_OK = 0
UPLOAD_ERR_NO_FILE = 4
UPLOAD_ERR_NO_TMP_DIR = 6
UPLOAD_ERR_CANT_WRITE = 7
UPLOAD_ERR_EXTENSION = 8


class FormError(ValueError):
    """The form cannot be turned into a tree; the server answers 400.

    RoadRunner v5 answered 500 ``serve_http: <error>`` and v6 answers 400;
    either way the message text is RoadRunner's, so logs keep matching.
    """


# ---------------------------------------------------------------- key splitting


def split_key(name: str) -> list[str]:
    """Split a form field name into tree segments, exactly like ``fetchIndexes``.

    ``a[b][c]`` -> ``["a", "b", "c"]``, ``a[]`` -> ``["a", ""]``; spaces are
    dropped anywhere; text after a ``]`` starts a new segment (``a[b]c`` is
    ``a[b][c]``); an unterminated ``[`` still opens a segment.
    """
    keys = [""]
    pos = 0  # 0: inside a segment, 1: just after '[', 2: just after ']'
    for ch in name:
        if ch == " ":
            continue
        if ch == "[":
            pos = 1
            continue
        if ch == "]":
            if pos == 1:
                keys.append("")
            pos = 2
            continue
        if pos:
            keys.append("")
        keys[-1] += ch
        pos = 0
    return keys


# ---------------------------------------------------------------- tree mounting


def _is_empty(value: Any) -> bool:
    """``isDataEmpty``: "", [], [""] and [None] are empty; a subtree or a file is not."""
    if isinstance(value, str):
        return not value
    if isinstance(value, list):
        return not value or (len(value) == 1 and (value[0] == "" or value[0] is None))
    return value is None


def _conflict(key: str) -> FormError:
    return FormError(f"invalid multiple values to key '{key}' in tree")


def _prepare(tree: dict[str, Any], keys: Sequence[str], values: list[Any]) -> bool:
    """``prepareTreeNode``: reconcile what is stored at ``keys[0]`` with the incoming values.

    Returns True when the incoming values must be ignored; raises
    :class:`FormError` on a scalar/branch conflict.
    """
    k0 = keys[0]
    if k0 not in tree:
        tree[k0] = {}
        return False
    current = tree[k0]
    is_branch = isinstance(current, dict)
    current_empty = _is_empty(current)
    incoming_empty = _is_empty(values)
    if not is_branch:
        if not current_empty:
            if len(keys) > 1 and keys[1]:
                raise _conflict(k0)
            if incoming_empty:
                return True
        if current_empty and not incoming_empty:
            tree[k0] = {}
            return False
    elif len(keys) == 1 or (len(keys) == 2 and not keys[1]):
        if not incoming_empty:
            raise _conflict(k0)
        return True
    return False


def _mount(tree: dict[str, Any], keys: list[str], values: list[Any], first: bool) -> None:
    """``dataTree.mount`` / ``fileTree.mount`` without the recursion.

    ``first`` picks the first value for a plain key (files) instead of the
    last (form fields).
    """
    while keys:
        if _prepare(tree, keys, values):
            return
        k0 = keys[0]
        if len(keys) == 2 and not keys[1]:
            tree[k0] = list(values)
            return
        if len(keys) == 1:
            if values:
                tree[k0] = values[0] if first else values[-1]
            else:
                tree[k0] = list(values)
            return
        child = tree[k0]
        if not isinstance(child, dict):
            # Go panics on this path (an empty leaf meeting an empty nested key);
            # an empty object is what the non-empty variant of the same input yields.
            child = tree[k0] = {}
        tree = child
        keys = keys[1:]


def build_tree(fields: Iterable[tuple[str, list[str]]]) -> dict[str, Any]:
    """Mount form fields (name, every value in order) into the data tree.

    Plain key: the last value wins; ``a[]``: the whole list; ``a[b]``: nested
    objects.  Raises :class:`FormError` on conflicting shapes.  Keys with more
    than :data:`MAX_LEVEL` segments are dropped, as RoadRunner does.
    """
    tree: dict[str, Any] = {}
    for name, values in fields:
        keys = split_key(name)
        if len(keys) <= MAX_LEVEL:
            _mount(tree, keys, list(values), first=False)
    return tree


def build_file_tree(files: Iterable[tuple[str, list[FileUpload]]]) -> dict[str, Any]:
    """Mount uploaded files into the uploads tree (§2): like :func:`build_tree`,
    except that a plain key with several files keeps the **first** one."""
    tree: dict[str, Any] = {}
    for name, uploads in files:
        keys = split_key(name)
        if len(keys) <= MAX_LEVEL:
            _mount(tree, keys, list(uploads), first=True)
    return tree


# ---------------------------------------------------------------- uploads


@dataclass(slots=True)
class FileUpload:
    """One uploaded file as PHP sees it (``FileUpload`` in ``uploads.go``).

    ``tmp_name`` is an absolute path, empty when no temp file was written
    (error 4, 6, 8).  ``content`` holds the part bytes until :meth:`open`
    writes them out, then is dropped.
    """

    name: str
    mime: str
    size: int = 0
    error: int = UPLOAD_ERR_OK
    tmp_name: str = ""
    content: Any = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The JSON object, keys in Go's struct field order."""
        return {
            "name": self.name,
            "mime": self.mime,
            "size": self.size,
            "error": self.error,
            "tmpName": self.tmp_name,
        }

    def open(
        self,
        directory: str | None,
        forbid: frozenset[str],
        allow: frozenset[str],
        owner: tuple[int, int] | None = None,
    ) -> None:
        """Write the content to a new temp file, or set the PHP error code.

        Order of checks follows ``FileUpload.Open``: extension (8), then the
        temp file (6), then the copy (7).  An empty client file name is PHP's
        "no file was uploaded" (4) and is checked first.
        """
        content, self.content = self.content, None
        if self.error != UPLOAD_ERR_OK:
            return
        if not self.name:
            self.error = UPLOAD_ERR_NO_FILE
            return
        ext = file_extension(self.name).lower()
        if ext in forbid or (allow and ext not in allow):
            self.error = UPLOAD_ERR_EXTENSION
            return
        try:
            fd, path = tempfile.mkstemp(prefix="upload", dir=directory)
        except OSError:
            self.error = UPLOAD_ERR_NO_TMP_DIR
            return
        self.tmp_name = os.path.abspath(path)
        try:
            if owner is not None and owner[0] != 0 and owner[1] != 0:
                os.fchown(fd, owner[0], owner[1])
            view = memoryview(content if content is not None else b"")
            written = 0
            while written < len(view):
                written += os.write(fd, view[written:])
            self.size = written
        except OSError:
            self.error = UPLOAD_ERR_CANT_WRITE
        finally:
            os.close(fd)


def file_extension(name: str) -> str:
    """Go's ``path.Ext``: the suffix from the last dot of the last ``/`` element.

    Unlike :func:`os.path.splitext`, ``.htaccess`` has the extension
    ``.htaccess`` (so ``forbid: [".htaccess"]`` works as in RoadRunner).
    """
    for i in range(len(name) - 1, -1, -1):
        ch = name[i]
        if ch == "/":
            break
        if ch == ".":
            return name[i:]
    return ""


def _go_base(name: str) -> str:
    """Go's ``filepath.Base`` on Unix (what ``Part.FileName`` applies)."""
    if not name:
        return "."
    stripped = name.rstrip("/")
    if not stripped:
        return "/"
    return stripped[stripped.rfind("/") + 1 :]


def tree_to_jsonable(tree: Any) -> Any:
    """Turn a data or file tree into plain JSON values, object keys sorted.

    Go's ``encoding/json`` sorts map keys; a :class:`FileUpload` keeps its
    struct field order, which ``json.dumps(sort_keys=True)`` would break,
    hence this walk instead.
    """
    if isinstance(tree, dict):
        return {k: tree_to_jsonable(tree[k]) for k in sorted(tree)}
    if isinstance(tree, list):
        return [tree_to_jsonable(v) for v in tree]
    if isinstance(tree, FileUpload):
        return tree.to_json()
    return tree


def tree_to_json(tree: Any) -> bytes:
    """Compact JSON bytes of a tree (sorted keys, UTF-8 like Go's encoder)."""
    return json.dumps(tree_to_jsonable(tree), separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8", "replace"
    )


@dataclass(slots=True)
class ParsedForm:
    """A parsed form: the data tree, the uploads tree and the temp files.

    ``uploads`` is None for url-encoded forms and a (possibly empty) tree for
    multipart ones.  The server must call :meth:`cleanup` once the response
    is written (or the request failed): the worker had its chance to read or
    move the files by then, exactly as in RoadRunner.
    """

    data: dict[str, Any]
    uploads: dict[str, Any] | None = None
    files: list[FileUpload] = field(default_factory=list)

    def data_json(self) -> bytes:
        return tree_to_json(self.data)

    def uploads_json(self) -> bytes:
        return b"null" if self.uploads is None else tree_to_json(self.uploads)

    def cleanup(self) -> None:
        """Delete every temp file; safe to call twice, missing files are fine."""
        for upload in self.files:
            if upload.tmp_name:
                # A file that cannot be removed is left behind (RoadRunner logs
                # it); cleanup must never fail the response.
                with contextlib.suppress(OSError):
                    os.unlink(upload.tmp_name)


# ---------------------------------------------------------------- url-encoded


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


# ---------------------------------------------------------------- media types

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


# ---------------------------------------------------------------- multipart


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


def parse_form_urlencoded(body: bytes) -> ParsedForm:
    """Parse an url-encoded body into a :class:`ParsedForm` (no uploads)."""
    return ParsedForm(data=build_tree(parse_urlencoded(body)))
