"""What ``static`` remembers about files: small files for one second, strong ETags by identity.

* :class:`FileCache`: a small file (up to :data:`~.fileio.SMALL`) that was just served is kept
  for :data:`TTL` seconds with its prepared validators, so a busy asset costs no thread-pool
  hop, no syscall but the send, for at most one second of staleness (upstream's static plugin
  keeps file metadata with a TTL too, ``cache.go``).  Bounded in entries and bytes.
* :class:`EtagCache`: the ``"size-crc32"`` ETag of a large file, computed in a thread once
  per (path, size, mtime) instead of reading the whole file per request.
"""

from __future__ import annotations

import os
import time
import zlib

import gevent

from actors.plugins.http.middleware.fileio import CHUNK, Opened

__all__ = ["TTL", "EtagCache", "FileCache", "FileInfo"]

#: How long a served small file is answered from memory before it is looked at again.
TTL = 1.0
_MAX_ENTRIES = 4096
_MAX_BYTES = 64 * 1024 * 1024
_ETAG_ENTRIES = 4096


class FileInfo:
    """One file as served: validators and type prepared once; ``data`` for a small file."""

    __slots__ = ("content_type", "data", "etag", "filled", "last_modified", "mtime", "size")

    def __init__(
        self,
        size: int,
        mtime: int,
        etag: str,
        last_modified: str,
        content_type: str,
        data: bytes | None,
    ) -> None:
        self.size = size
        self.mtime = mtime
        self.etag = etag
        self.last_modified = last_modified
        self.content_type = content_type
        self.data = data
        self.filled = time.monotonic()


class FileCache:
    """Small files by request path, each fresh for :data:`TTL` seconds."""

    def __init__(self) -> None:
        self._files: dict[str, FileInfo] = {}
        self._bytes = 0

    def get(self, path: str) -> FileInfo | None:
        info = self._files.get(path)
        if info is None:
            return None
        if time.monotonic() - info.filled < TTL:
            return info
        self._drop(path, info)
        return None

    def put(self, path: str, info: FileInfo) -> None:
        size = len(info.data or b"")
        old = self._files.get(path)
        if old is not None:
            self._drop(path, old)
        if len(self._files) >= _MAX_ENTRIES or self._bytes + size > _MAX_BYTES:
            self._sweep()
            if len(self._files) >= _MAX_ENTRIES or self._bytes + size > _MAX_BYTES:
                return  # full of fresh files: serve this one uncached
        self._files[path] = info
        self._bytes += size

    def _drop(self, path: str, info: FileInfo) -> None:
        del self._files[path]
        self._bytes -= len(info.data or b"")

    def _sweep(self) -> None:
        now = time.monotonic()
        for path, info in list(self._files.items()):
            if now - info.filled >= TTL:
                self._drop(path, info)


def _crc_etag(fd: int, size: int) -> str:
    """``"size-crc32"`` of the content (runs in a thread: it reads the whole file)."""
    crc = 0
    offset = 0
    while offset < size:
        data = os.pread(fd, min(CHUNK * 4, size - offset), offset)
        if not data:
            break
        crc = zlib.crc32(data, crc)
        offset += len(data)
    return f'"{size}-{crc}"'


def strong_etag(data: bytes) -> str:
    """Upstream's strong form ``"size-crc"`` (CRC-32 here, upstream CRC-32C); "" when empty."""
    return f'"{len(data)}-{zlib.crc32(data)}"' if data else ""


class EtagCache:
    """Strong ETags of large files by identity, so a file is read for its CRC once."""

    def __init__(self) -> None:
        self._tags: dict[tuple[str, int, int], str] = {}

    def get(self, path: str, opened: Opened) -> str:
        st = opened.st
        if st.st_size == 0:
            return ""  # upstream: an empty body gets no strong validator
        if opened.data is not None:
            return strong_etag(opened.data)
        key = (path, st.st_size, st.st_mtime_ns)
        tag = self._tags.get(key)
        if tag is None:
            tag = gevent.get_hub().threadpool.apply(_crc_etag, (opened.fd, st.st_size))
            if len(self._tags) >= _ETAG_ENTRIES:
                for old in list(self._tags)[: _ETAG_ENTRIES // 2]:
                    del self._tags[old]
            self._tags[key] = tag
        return tag
