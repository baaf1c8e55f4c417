"""Uploaded files as PHP sees them: temp files written with RoadRunner's checks and error codes
(``handler/uploads.go``).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "UPLOAD_ERR_CANT_WRITE",
    "UPLOAD_ERR_EXTENSION",
    "UPLOAD_ERR_NO_FILE",
    "UPLOAD_ERR_NO_TMP_DIR",
    "UPLOAD_ERR_OK",
    "FileUpload",
    "file_extension",
]


# PHP's UPLOAD_ERR_* codes, the only ones RoadRunner produces.
UPLOAD_ERR_OK = 0
UPLOAD_ERR_NO_FILE = 4
UPLOAD_ERR_NO_TMP_DIR = 6
UPLOAD_ERR_CANT_WRITE = 7
UPLOAD_ERR_EXTENSION = 8


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
    content: bytes | memoryview | None = field(default=None, repr=False)

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
