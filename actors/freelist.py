"""Where a request waits for a worker.

The free list is the pool's container of idle workers, a gevent queue: its
getters are served in FIFO order, so waiting is fair, and a released worker
goes to the oldest waiting request.  Waiting ends on a worker, on
``allocate_timeout``, on the caller's cancel event (its client went away),
or on destroy.  During a reset takers wait instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event
import gevent.queue
from gevent import getcurrent

from actors.errors import NoFreeWorkersError, PoolStoppedError
from actors.fsm import State

if TYPE_CHECKING:  # the worker module imports nothing from here; typing only
    from actors.worker import WorkerHandle

__all__ = ["Cancelled", "FreeList"]


class Cancelled(Exception):
    """The caller gave up waiting (its cancel event fired)."""


_READY = State.READY

#: Put on the queue by destroy(): every taker that meets it passes it on and fails.
_STOPPED = object()


class FreeList:
    """Idle workers and the greenlets waiting for one.

    Workers that stopped being READY while queued (retired by the
    supervisor, crashed) are skipped and handed to ``on_stale``, so the
    queue never needs random removal.
    """

    def __init__(self, on_stale: Callable[[WorkerHandle], None] | None = None) -> None:
        self._queue: gevent.queue.Queue = gevent.queue.Queue()
        self._destroyed = False
        self._resumed = gevent.event.Event()
        self._resumed.set()
        self._on_stale = on_stale
        self._waiting = 0

    def __len__(self) -> int:
        return self._queue.qsize()

    @property
    def waiting(self) -> int:
        return self._waiting

    def idle(self) -> list[WorkerHandle]:
        return [w for w in self._queue.queue if w is not _STOPPED]

    def take(self, timeout: float, cancel: gevent.event.Event | None = None) -> WorkerHandle:
        """Return a READY worker, waiting up to ``timeout`` seconds."""
        if self._destroyed:
            raise _stopped()
        queue = self._queue
        loop = gevent.get_hub().loop
        deadline = loop.now() + timeout
        if not self._resumed.is_set():
            self._wait_resumed(deadline, cancel)
        while True:
            try:
                w = queue.get_nowait()
            except gevent.queue.Empty:
                w = self._get(deadline - loop.now(), cancel, timeout)
            if w is _STOPPED:
                queue.put(_STOPPED)
                raise _stopped()
            if w.state is _READY:
                return w
            self._stale(w)

    def _get(self, remaining: float, cancel: gevent.event.Event | None, timeout: float) -> Any:
        if remaining <= 0:
            raise self._no_free(timeout)
        self._waiting += 1
        try:
            return self._get_blocking(remaining, cancel, timeout)
        finally:
            self._waiting -= 1

    def _get_blocking(
        self, remaining: float, cancel: gevent.event.Event | None, timeout: float
    ) -> Any:
        if cancel is None:
            try:
                return self._queue.get(timeout=remaining)
            except gevent.queue.Empty:
                raise self._no_free(timeout) from None
        if cancel.is_set():
            raise Cancelled("the caller went away while waiting for a worker")
        me = getcurrent()
        parked = [True]

        def on_cancel(_event: object) -> None:
            # Runs in the hub; only interrupt the greenlet while it is parked in get().
            if parked[0]:
                me.throw(Cancelled("the caller went away while waiting for a worker"))

        cancel.rawlink(on_cancel)
        try:
            return self._queue.get(timeout=remaining)
        except gevent.queue.Empty:
            raise self._no_free(timeout) from None
        finally:
            parked[0] = False
            cancel.unlink(on_cancel)

    def _wait_resumed(self, deadline: float, cancel: gevent.event.Event | None) -> None:
        loop = gevent.get_hub().loop
        while not self._resumed.is_set():
            if cancel is not None and cancel.is_set():
                raise Cancelled("the caller went away while waiting for a worker")
            remaining = deadline - loop.now()
            if remaining <= 0:
                raise NoFreeWorkersError(
                    "static_pool_exec: NoFreeWorkers: the pool is being reset and the "
                    "reset outlasted allocate_timeout"
                )
            self._resumed.wait(min(remaining, 0.1))
            if self._destroyed:
                raise _stopped()

    def _no_free(self, timeout: float) -> NoFreeWorkersError:
        return NoFreeWorkersError(
            f"static_pool_exec: NoFreeWorkers: no free workers in the pool, wait timeout "
            f"exceeded (allocate_timeout={timeout:g}s, {self.waiting} other requests "
            f"waiting); raise pool.num_workers or pool.allocate_timeout, or look for slow "
            f"requests"
        )

    def put(self, worker: WorkerHandle) -> None:
        """Return an idle worker; the oldest waiting request gets it."""
        if not self._destroyed:
            self._queue.put(worker)

    def pause(self) -> None:
        """Make takers wait (a reset is rebuilding the pool)."""
        self._resumed.clear()

    def resume(self) -> None:
        self._resumed.set()

    def drain(self) -> list[WorkerHandle]:
        """Remove and return every idle worker (reset, destroy)."""
        out: list[WorkerHandle] = []
        while True:
            try:
                w = self._queue.get_nowait()
            except gevent.queue.Empty:
                return out
            if w is not _STOPPED:
                out.append(w)

    def destroy(self) -> None:
        """Fail every waiter and refuse all future takes."""
        self._destroyed = True
        self.drain()
        self._queue.put(_STOPPED)
        self._resumed.set()

    def _stale(self, w: WorkerHandle) -> None:
        if self._on_stale is not None:
            self._on_stale(w)


def _stopped() -> PoolStoppedError:
    return PoolStoppedError(
        "static_pool_exec: Workers watcher stopped: the pool is destroyed and takes no more work"
    )
