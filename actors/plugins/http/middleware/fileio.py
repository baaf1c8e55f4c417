"""File reads for ``static`` and ``sendfile`` that never block the hub.

Every ``open``/``stat``/``pread`` runs in gevent's thread pool, so a slow disk (or a cold
network mount) stalls one request, not every connection.  Bodies leave through
``Writer.send_file`` (:mod:`actors.plugins.http.server.sendfile`): ``sendfile(2)`` on plain
HTTP, else bounded chunks (:data:`CHUNK`), so a 5 GB file costs one chunk of memory at most.
"""

from __future__ import annotations

import os
import stat

import gevent

from actors.plugins.http.server.sendfile import CHUNK, copy_file
from actors.plugins.http.server.writer import Writer

__all__ = ["CHUNK", "OUTSIDE", "SMALL", "Opened", "open_beneath", "open_regular", "stream_range"]

#: Files up to this size are read whole when opened (one thread hop, one ``sendall``).
SMALL = 256 * 1024


class Opened:
    """An open regular file: its descriptor (closed by :meth:`close`), ``stat`` and, for a
    small file, its contents read at open time."""

    __slots__ = ("data", "fd", "st")

    def __init__(self, fd: int, st: os.stat_result, data: bytes | None) -> None:
        self.fd = fd
        self.st = st
        self.data = data

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _open(path: str, read_small: bool) -> Opened | None:
    try:
        # O_NONBLOCK: opening a FIFO someone left in the tree must not hang a thread.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            return None
        data = None
        if read_small and st.st_size <= SMALL:
            data = os.pread(fd, st.st_size, 0)
        return Opened(fd, st, data)
    except OSError:
        os.close(fd)
        return None


class _Outside:
    """The type of :data:`OUTSIDE`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "OUTSIDE"


#: What :func:`open_beneath` returns for a path that resolves outside its root (a symlink out).
OUTSIDE = _Outside()


def _open_beneath(root: str, relative: str, read_small: bool) -> Opened | _Outside | None:
    # realpath stats every component: file I/O, so it runs here, in the thread, not on the hub.
    real = os.path.realpath(os.path.join(root, relative))
    if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
        return OUTSIDE
    return _open(real, read_small)


def open_beneath(root: str, relative: str, read_small: bool = True) -> Opened | _Outside | None:
    """Open ``root/relative`` if it is a regular file whose real path (symlinks resolved) is
    inside ``root`` (a real path itself); :data:`OUTSIDE` if it resolves elsewhere, None for a
    miss, a directory or anything but a regular file.  One thread-pool hop for all of it."""
    result: Opened | _Outside | None = gevent.get_hub().threadpool.apply(
        _open_beneath, (root, relative, read_small)
    )
    return result


def open_regular(path: str, read_small: bool = True) -> Opened | None:
    """Open ``path`` if it is a regular file (None for a miss, a directory, a device...)."""
    result: Opened | None = gevent.get_hub().threadpool.apply(_open, (path, read_small))
    return result


def stream_range(resp: Writer, fd: int, offset: int, length: int) -> bool:
    """Write ``length`` bytes of ``fd`` from ``offset`` through ``resp.write`` in chunks (never
    zero-copy); False when the file came up short.  Kept for callers that must see the bytes;
    ``resp.send_file`` is the way to send a file body."""
    return copy_file(resp, fd, offset, length)
