"""The off-hub writer: log lines are queued on the hub and written by an OS thread.

Why: the server runs every request on one gevent hub, and a write to a slow
stderr, a full pipe or a stalled disk blocks the whole OS thread, so one
blocked log output used to stop every request.  Here the hub only appends the
formatted line to a bounded queue (a lock held for a few instructions, never
across I/O); a plain :class:`threading.Thread`, one per output, takes
everything queued and writes it with blocking system calls.  The thread
touches no gevent object (no monkey-patching anywhere: its lock and condition
are real OS primitives, and it writes with :func:`os.write`).

Rules kept here:

* order: lines of one output are written in the order they were queued;
* never block the hub: when the queue is full (:data:`MAX_LINES` lines or
  :data:`MAX_CHARS` characters waiting), a line is dropped and counted, and
  once writes succeed again a notice ``N log lines dropped: output was blocked``
  is written exactly where the lines went missing;
* nothing lost at exit: :func:`flush_all` runs at interpreter exit, waiting
  at most :data:`EXIT_FLUSH_TIMEOUT` seconds for what is queued.

A destination with a file descriptor is written with :func:`os.write`, not
through the Python stream object: a thread blocked inside
``sys.stderr.write`` would hold the stream's buffer lock, and the interpreter
aborts ("could not acquire lock ... at interpreter shutdown") when it then
flushes stderr at exit.  Streams without a descriptor (pytest's capture, an
embedder's ``io.StringIO``) are written through the stream; they live in
memory and cannot block.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import select
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import TextIO

__all__ = [
    "EXIT_FLUSH_TIMEOUT",
    "LINGER",
    "MAX_CHARS",
    "MAX_LINES",
    "Destination",
    "LineWriter",
    "drop_notice_text",
    "flush_all",
]

#: Lines one output may have waiting before new ones are dropped.
MAX_LINES = 10_000
#: Characters one output may have waiting (a burst of huge worker lines must not eat memory).
MAX_CHARS = 8 * 1024 * 1024
#: Longest wait at interpreter exit for queued lines to reach their outputs.
EXIT_FLUSH_TIMEOUT = 5.0
#: How long the writer lets lines gather after the first one arrives.  Each wake-up of the
#: writer thread makes the busy hub hand over the GIL and wait for it back, which costs an OS
#: scheduling delay (milliseconds on a loaded machine): waking once per access log line halved
#: the requests served per second in ``http.access_logs`` benchmarks, waking every 5 ms still
#: cost a third, every 50 ms is within the noise.  A line reaches its output 50 ms late at most
#: (unless the output itself is slow), and :meth:`LineWriter.flush` waits for it.
LINGER = 0.05


def drop_notice_text(count: int) -> str:
    """The message of the notice written after ``count`` lines were dropped."""
    return f"{count} log lines dropped: output was blocked"


class Destination:
    """Where a line is written: a file descriptor, or a stream that has none.

    Built on the hub (where ``sys.stderr`` is looked up), used by the writer
    thread; immutable once built, so sharing it between the two is safe.
    """

    __slots__ = ("encoding", "fd", "isatty", "stream")

    def __init__(self, fd: int | None, stream: TextIO | None, encoding: str = "utf-8") -> None:
        self.fd = fd
        self.stream = stream
        self.encoding = encoding
        try:
            if fd is not None:
                self.isatty = os.isatty(fd)
            else:
                self.isatty = bool(stream is not None and stream.isatty())
        except (OSError, ValueError, AttributeError):
            self.isatty = False

    @classmethod
    def of_stream(cls, stream: TextIO) -> Destination:
        """The descriptor under ``stream`` when it has a working one, else the stream itself."""
        encoding = getattr(stream, "encoding", None) or "utf-8"
        try:
            fd = stream.fileno()
        except (OSError, ValueError, AttributeError):
            return cls(None, stream, encoding)
        return cls(fd, stream, encoding)

    def write(self, text: str) -> None:
        """Write ``text`` whole (blocking: called on the writer thread only).

        Characters the output cannot encode become backslash escapes, as the
        stdlib's stderr does, instead of losing the line.
        """
        if self.fd is not None:
            _write_all(self.fd, text.encode(self.encoding, "backslashreplace"))
            return
        stream = self.stream
        if stream is None:
            return
        try:
            stream.write(text)
        except UnicodeEncodeError:
            stream.write(text.encode(self.encoding, "backslashreplace").decode(self.encoding))
        stream.flush()


def _write_all(fd: int, data: bytes) -> None:
    """``os.write`` until every byte is out; a non-blocking descriptor is waited on."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            select.select((), (fd,), (), 1.0)
            continue
        view = view[written:]


class _Dropped:
    """Queue marker: ``count`` lines were dropped at this point of the stream."""

    __slots__ = ("count",)

    def __init__(self, count: int) -> None:
        self.count = count


_Item = tuple[Destination, "str | _Dropped"]


class LineWriter:
    """A bounded queue of lines for one output, drained by its own OS thread.

    :meth:`put` is what the hub calls: it never blocks on I/O and never
    raises.  The thread sleeps until a line comes, lets more gather for
    ``linger`` seconds, then writes all of them at once.  ``notice`` formats
    the dropped-lines notice (in the output's encoding) and ``on_error``
    hears of a failed write; both run on the writer thread.  ``owned`` is a
    destination whose descriptor the writer closes once it has written
    everything (a log file), after :meth:`close`.
    """

    def __init__(
        self,
        name: str,
        *,
        notice: Callable[[int], str] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        owned: Destination | None = None,
        max_lines: int = MAX_LINES,
        max_chars: int = MAX_CHARS,
        linger: float = LINGER,
    ) -> None:
        self.name = name
        self.linger = linger
        self.notice: Callable[[int], str] = notice or (lambda n: drop_notice_text(n) + "\n")
        self.on_error = on_error
        self.max_lines = max_lines
        self.max_chars = max_chars
        self._hurry_at = max(1, max_lines // 4)  # this many lines waiting: write them now
        self._owned = owned
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # the writer waits here for lines
        self._progress = threading.Condition(self._lock)  # flushers wait here for writes
        self._items: deque[_Item] = deque()
        self._chars = 0
        self._accepted = 0  # items queued so far (lines and drop markers)
        self._finished = 0  # items the writer is done with (written or failed)
        self._dropped = 0  # lines dropped since the last accepted item
        self._dropped_total = 0
        self._idle = False
        self._hurry = False  # a flush is waiting: skip the linger
        self._closing = False
        self._last: Destination | None = owned
        self._thread = threading.Thread(
            target=self._run, name=f"greenrunner-log-{name}", daemon=True
        )
        self._thread.start()
        with _live_lock:
            _live.add(self)

    @property
    def dropped_total(self) -> int:
        """How many lines this writer has dropped since it started."""
        return self._dropped_total

    def put(self, dest: Destination, text: str) -> bool:
        """Queue ``text`` for ``dest``; False when it was dropped (queue full, or closed)."""
        size = len(text)
        with self._lock:
            items = self._items
            if self._closing:
                self._dropped_total += 1  # a logger still in use after reset: nowhere to go
                return False
            if items and (len(items) >= self.max_lines or self._chars + size > self.max_chars):
                self._dropped += 1
                self._dropped_total += 1
                return False
            if self._dropped:
                items.append((dest, _Dropped(self._dropped)))
                self._dropped = 0
                self._accepted += 1
            items.append((dest, text))
            self._chars += size
            self._accepted += 1
            if self._idle:
                self._idle = False
                self._wake.notify()
            elif len(items) == self._hurry_at:
                self._wake.notify()  # filling up fast: cut the writer's linger short
            return True

    def flush(self, timeout: float) -> bool:
        """Wait until every line queued before this call is written (at most ``timeout`` s).

        Blocks the calling OS thread, so the hub calls it only where waiting
        is the point (exit, tests).  False when the output is still blocked.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            target = self._accepted + (1 if self._dropped else 0)
            self._hurry = True
            self._wake.notify()
            while self._finished < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._thread.is_alive():
                    return False
                self._progress.wait(remaining)
            return True

    def close(self, timeout: float) -> bool:
        """Stop taking lines, let the thread write what is queued, wait ``timeout`` s for it.

        The thread goes on writing in the background if the wait runs out (it
        is a daemon: it never holds the process up), then closes ``owned``.
        """
        with self._lock:
            self._closing = True
            self._idle = False
            self._wake.notify()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # -- the writer thread ---------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                with self._lock:
                    while not self._items and not self._dropped and not self._closing:
                        self._idle = True
                        self._wake.wait()
                    if (
                        self.linger
                        and not (self._closing or self._hurry)
                        and len(self._items) < self._hurry_at
                    ):
                        # Let lines gather: one wake-up (and GIL hand-off) per batch, not per
                        # line.  put() wakes this wait only when the queue fills up fast;
                        # flush() and close() always do.
                        self._wake.wait(self.linger)
                    self._hurry = False
                    batch, self._items, self._chars = self._items, deque(), 0
                    if self._dropped:
                        # Drops since the last accepted line: the notice goes at the tail.
                        dest = batch[-1][0] if batch else self._last
                        if dest is not None:
                            batch.append((dest, _Dropped(self._dropped)))
                            self._accepted += 1
                        self._dropped = 0
                    if not batch and self._closing:
                        return
                self._write_batch(batch)
                with self._lock:
                    self._finished += len(batch)
                    self._progress.notify_all()
        finally:
            if self._owned is not None and self._owned.fd is not None:
                with contextlib.suppress(OSError):
                    os.close(self._owned.fd)
            with self._lock:
                self._progress.notify_all()

    def _write_batch(self, batch: deque[_Item]) -> None:
        """Write consecutive lines of one destination with one system call."""
        chunk: list[str] = []
        current: Destination | None = None
        for dest, payload in batch:
            text = payload if isinstance(payload, str) else self._notice_text(payload.count)
            if dest is not current and chunk:
                self._write(current, "".join(chunk))
                chunk = []
            current = dest
            chunk.append(text)
        if chunk:
            self._write(current, "".join(chunk))
        if current is not None:
            self._last = current

    def _notice_text(self, count: int) -> str:
        try:
            return self.notice(count)
        except Exception:
            return drop_notice_text(count) + "\n"

    def _write(self, dest: Destination | None, text: str) -> None:
        if dest is None:
            return
        try:
            dest.write(text)
        except Exception as exc:  # a broken output must not kill the writer
            if self.on_error is not None:
                with contextlib.suppress(Exception):
                    self.on_error(exc)


_live: weakref.WeakSet[LineWriter] = weakref.WeakSet()
_live_lock = threading.Lock()


def flush_all(timeout: float) -> bool:
    """Flush every live writer, all within one ``timeout``; False if some output is blocked."""
    deadline = time.monotonic() + timeout
    with _live_lock:
        writers = list(_live)
    ok = True
    for writer in writers:
        ok = writer.flush(max(0.0, deadline - time.monotonic())) and ok
    return ok


def _flush_at_exit() -> None:
    flush_all(EXIT_FLUSH_TIMEOUT)


atexit.register(_flush_at_exit)
