"""The pipes relay, server side: frames over the worker's stdin and stdout.

Non-blocking descriptors and hub watchers instead of threads, so a thousand
workers cost a thousand watchers, and an 8 MiB request to a slow worker
only parks the greenlet that sends it.
"""

from __future__ import annotations

import contextlib
import os

import gevent
from gevent import getcurrent

from relays.errors import StdoutCorruptionError
from relays.frame import FrameError, RelayClosedError
from relays.server.base import Relay

__all__ = ["PipeRelay"]

# FrameReader asks for the rest of a frame at once; cap single reads so a big frame
# does not allocate its full size for every 64 KiB the pipe delivers.
_MAX_READ = 1 << 20
_READ, _WRITE = 1, 2


class PipeRelay(Relay):
    """Frames to ``write_fd`` (the worker's stdin) and from ``read_fd`` (its stdout).

    The descriptors are duplicated, so the caller keeps ownership of its own
    (a ``Popen``'s pipes, say) and closes them as it pleases; the worker sees
    EOF on stdin once both copies are closed.  ``command`` only serves error
    messages.
    """

    kind = "pipes"

    def __init__(self, read_fd: int, write_fd: int, pid: int, command: str = "") -> None:
        self.pid = pid
        self.command = command
        self._rfd = os.dup(read_fd)
        try:
            self._wfd = os.dup(write_fd)
        except OSError:  # EMFILE: give the first one back
            os.close(self._rfd)
            raise
        os.set_blocking(self._rfd, False)
        os.set_blocking(self._wfd, False)
        self._hub = gevent.get_hub()
        self._rwatch = self._hub.loop.io(self._rfd, _READ)
        self._wwatch = self._hub.loop.io(self._wfd, _WRITE)
        #: Set by :meth:`send`: the worker has a request it has not answered yet (measured at
        #: native speed under wrk -c32: 96 % of the time), so the next read waits for the pipe
        #: first.  A read that fails with EAGAIN costs a syscall and an exception (about 6,600
        #: instructions), more than the rare extra loop iteration when the answer is there.
        self._awaiting = False
        super().__init__()

    def _gone(self) -> RelayClosedError:
        return RelayClosedError(f"relay to worker pid {self.pid} is closed")

    def _recv(self, n: int) -> bytes:
        if self._awaiting:
            self._awaiting = False
            if not self._closed:
                # Like hub.wait(), without its Waiter (about 3,000 fewer instructions): the
                # watcher switches straight back here, and once stopped it cannot fire later
                # (stopping a libev watcher drops its pending event too).  close() wakes this
                # wait with RelayClosedError through cancel_waits_close_and_then, as before.
                watch = self._rwatch
                watch.start(getcurrent().switch)
                try:
                    self._hub.switch()
                finally:
                    watch.stop()
        while True:
            if self._closed:
                raise self._gone()
            try:
                return os.read(self._rfd, min(n, _MAX_READ))
            except BlockingIOError:
                pass
            except OSError as exc:
                if self._closed:
                    raise self._gone() from None
                raise RelayClosedError(f"reading from worker pid {self.pid}: {exc}") from exc
            self._hub.wait(self._rwatch)

    def send(self, data: bytes) -> None:
        """Write all of ``data``; a full pipe parks this greenlet, not the hub."""
        written = 0
        if not self._closed:
            # Not contextlib.suppress: that is one more object per request on the hot path.
            try:  # noqa: SIM105
                written = os.write(self._wfd, data)
            except OSError:
                pass  # BlockingIOError waits below; EPIPE & co. are reported below, as always
            if written == len(data):
                self._awaiting = True
                return  # the usual case: one write, no memoryview
        view = memoryview(data)[written:]
        while view:
            if self._closed:
                raise self._gone()
            try:
                written = os.write(self._wfd, view)
            except BlockingIOError:
                self._hub.wait(self._wwatch)
                continue
            except OSError as exc:  # EPIPE: the worker exited or closed its stdin
                if self._closed:
                    raise self._gone() from None
                raise RelayClosedError(f"writing to worker pid {self.pid}: {exc}") from exc
            view = view[written:]
        self._awaiting = True

    def close(self) -> None:
        """Close both descriptors; a greenlet parked on them gets RelayClosedError."""
        if self._closed:
            return
        self._closed = True
        # Wake any parked greenlet first, close the descriptors only after libev let go.
        self._hub.cancel_waits_close_and_then(
            [self._rwatch, self._wwatch], self._gone(), self._close_fds
        )

    def _close_fds(self) -> None:
        for fd in (self._rfd, self._wfd):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _describe(self) -> str:
        return f", command {self.command!r}" if self.command else ""

    def _corruption(self, exc: FrameError, data: bytes) -> Exception:
        return StdoutCorruptionError(data, self.pid, self.command)
