"""A parsed form: what the request context needs from a form body, and the temp files to delete."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from typing import Any

from actors.plugins.http.forms.tree import tree_to_json
from actors.plugins.http.forms.uploads import FileUpload

__all__ = ["ParsedForm"]


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
