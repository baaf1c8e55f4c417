"""File bodies on the wire: ``sendfile(2)`` on a plain socket, chunked reads everywhere else.

:meth:`Writer.send_file <actors.plugins.http.server.writer.Writer.send_file>` is how ``static``
and ``sendfile`` hand a file to the front.  The plain HTTP/1.1 writer puts it on the socket
with :func:`zero_copy_send` (the kernel copies page cache to socket; no byte enters Python);
writers that must see the bytes (TLS encrypts them, HTTP/2 frames them, gzip compresses them)
use :func:`copy_file`, which reads bounded chunks in the thread pool and ``write``\\ s them.
The choice is made once per writer (its ``zero_copy``), never per chunk.

``sendfile(2)`` reads the page cache inside the call: on a cold file it would wait for the disk
on the hub's thread, stalling every connection.  So before each call the first and last byte
of the segment are probed with ``preadv2(RWF_NOWAIT)`` (one byte copied, no disk wait): when
both are cached the call runs on the hub, otherwise in gevent's thread pool (the disk read
blocks one thread; the socket stays non-blocking, so the call still never waits for the
client there).

:data:`STATS` counts zero-copy responses, so tests (and the curious) can tell which path ran.
"""

from __future__ import annotations

import _socket
import contextlib
import os
from typing import TYPE_CHECKING

import gevent
from gevent.hub import Waiter

if TYPE_CHECKING:
    from actors.plugins.http.server.connection import Connection
    from actors.plugins.http.server.writer import Writer

__all__ = ["CHUNK", "STATS", "SendfileStats", "copy_file", "plain_socket", "zero_copy_send"]

#: Bytes per read of :func:`copy_file`: large enough for few thread hops and syscalls.
CHUNK = 256 * 1024
#: At most this much per ``sendfile`` call (the kernel stops earlier when the socket is full).
_SENDFILE_MAX = 4 * 1024 * 1024
#: A client that keeps up never makes ``sendfile`` wait; after this many bytes without a wait
#: the greenlet yields anyway, so a fast local download cannot monopolise the hub.
_FAIR_BYTES = 4 * 1024 * 1024


class SendfileStats:
    """Process-wide counters of the zero-copy path (one owner: the hub's greenlets)."""

    __slots__ = ("bytes", "calls", "responses", "threaded")

    def __init__(self) -> None:
        #: Responses (or ranges) sent with :func:`zero_copy_send`.
        self.responses = 0
        #: ``os.sendfile`` calls made (EAGAIN included).
        self.calls = 0
        #: File bytes the kernel put on sockets.
        self.bytes = 0
        #: ``os.sendfile`` calls run in the thread pool (a segment not in the page cache).
        self.threaded = 0


#: The counters of this process.
STATS = SendfileStats()


def plain_socket(conn: Connection) -> bool:
    """True when ``conn`` writes its bytes unchanged to a kernel socket, so ``sendfile(2)`` may
    write for it.  A TLS connection replaces its raw socket with a stand-in (its bytes must be
    encrypted by OpenSSL first), so it answers False and its responses take :func:`copy_file`."""
    return isinstance(conn._raw, _socket.socket)


#: The one-byte buffer of :func:`_cached` (its content is never used).
_PROBE = bytearray(1)


def _cached(fd: int, offset: int, count: int) -> bool:
    """True when the first and last byte of ``fd[offset:offset + count]`` are in the page cache:
    ``preadv2(RWF_NOWAIT)`` answers EAGAIN instead of reading the disk.  A file system that
    cannot tell (EOPNOTSUPP) counts as not cached, so the hub never risks a disk wait."""
    try:
        os.preadv(fd, [_PROBE], offset, os.RWF_NOWAIT)
        if count > 1:
            os.preadv(fd, [_PROBE], offset + count - 1, os.RWF_NOWAIT)
    except OSError:
        return False
    return True


def _sendfile(sock_fd: int, fd: int, offset: int, count: int) -> int:
    """``os.sendfile`` on the hub when the segment is cached, else in the thread pool."""
    if _cached(fd, offset, count):
        return os.sendfile(sock_fd, fd, offset, count)
    STATS.threaded += 1
    pending = gevent.get_hub().threadpool.spawn(os.sendfile, sock_fd, fd, offset, count)
    try:
        sent: int = pending.get()
    except BaseException:
        # Killed while the thread reads (server stop): the caller closes fd once this returns,
        # so the call must be over first; then let the kill (or the OSError) through.
        with contextlib.suppress(Exception):
            pending.get()
        raise
    return sent


def _wait_writable(fd: int, timeout: float) -> bool:
    """Park the greenlet until ``fd`` is writable; False when ``timeout`` expired first."""
    loop = gevent.get_hub().loop
    watcher = loop.io(fd, 2)
    timer = loop.timer(max(timeout, 0.0))
    waiter: Waiter[bool] = Waiter()
    watcher.start(waiter.switch, True)
    timer.start(waiter.switch, False)
    try:
        return waiter.get()
    finally:
        watcher.stop()
        timer.stop()
        watcher.close()
        timer.close()


def zero_copy_send(conn: Connection, writer: Writer, fd: int, offset: int, count: int) -> int:
    """Send ``count`` bytes of ``fd`` from ``offset`` on ``conn``'s non-blocking socket with
    ``os.sendfile``; returns how many were sent.

    Never blocks the hub: a segment not in the page cache is sent from the thread pool, and on
    EAGAIN the greenlet waits for writability, at most the server's
    ``write_timeout`` per wait (a client that stops reading is dropped then, like a stalled
    ``sendall``).  Nothing raises on a gone peer: a failure marks the connection dead and sets
    ``writer.client_gone``, as :meth:`Connection.send` does.  Fewer bytes than ``count`` without
    a failure means the file ended early (it shrank while being sent).
    """
    STATS.responses += 1
    sock_fd = conn._fd
    timeout = conn.server.write_timeout
    sent = 0
    since_wait = 0
    gone = writer.client_gone
    while sent < count and not conn.dead:
        if gone.is_set():
            break
        try:
            STATS.calls += 1
            n = _sendfile(sock_fd, fd, offset + sent, min(count - sent, _SENDFILE_MAX))
        except BlockingIOError:
            since_wait = 0
            if not _wait_writable(sock_fd, timeout):
                conn.server.logger.debug(
                    "http: %s stopped reading for %.1fs (write_timeout): connection dropped",
                    conn.addr,
                    timeout,
                )
                _failed(conn, writer)
            continue
        except OSError:  # EPIPE, ECONNRESET; or a file that cannot be sent (EIO)
            _failed(conn, writer)
            break
        if n == 0:
            break  # end of file: it shrank under us
        sent += n
        writer.bytes_sent += n
        STATS.bytes += n
        since_wait += n
        if since_wait >= _FAIR_BYTES:
            since_wait = 0
            gevent.sleep(0)
    return sent


def _failed(conn: Connection, writer: Writer) -> None:
    conn.dead = True
    writer.client_gone.set()


def copy_file(writer: Writer, fd: int, offset: int, length: int) -> bool:
    """Write ``length`` bytes of ``fd`` from ``offset`` through ``writer.write`` in chunks; False
    when the file came up short (it shrank while being sent: the response is cut, not padded).

    The fallback of writers that must see the bytes.  The next chunk is read in the thread pool
    while the current one is being sent, so disk and socket overlap; at most two chunks are in
    memory.  Returns only once no read is pending, so the caller may close ``fd`` at once.
    """
    pool = gevent.get_hub().threadpool
    end = offset + length
    pending = pool.spawn(os.pread, fd, min(CHUNK, end - offset), offset) if length else None
    try:
        while pending is not None:
            data: bytes = pending.get()
            pending = None
            if not data:
                return False
            offset += len(data)
            if offset < end:
                pending = pool.spawn(os.pread, fd, min(CHUNK, end - offset), offset)
            writer.write(data)
            if writer.client_gone.is_set():
                return True
        return True
    finally:
        if pending is not None:
            # Never leave a read running on a descriptor about to be closed (and reused).
            with contextlib.suppress(Exception):
                pending.get()
