"""Where a request waits for a worker.

The free list is the pool's container of idle workers plus a FIFO of
waiting request greenlets.  A released worker goes straight to the oldest
waiter (a hand-off, no re-queue), so waiting is fair and nothing spins.
Waiting ends on a worker, on ``allocate_timeout``, on the caller's cancel
event (its client went away), or on destroy.
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Callable

import gevent
import gevent.event

from actors.errors import NoFreeWorkersError, PoolStoppedError
from actors.fsm import State

__all__ = ["Cancelled", "FreeList"]


class Cancelled(Exception):
    """The caller gave up waiting (its cancel event fired)."""


class FreeList:
    """Idle workers and the greenlets waiting for one.

    ``paused`` (during a reset) makes takers wait even if workers are free,
    so requests queue instead of failing while the pool is rebuilt.
    """

    def __init__(self, on_stale: Callable[[object], None] | None = None) -> None:
        self._free: collections.deque = collections.deque()
        self._waiters: collections.deque[gevent.event.AsyncResult] = collections.deque()
        self._destroyed = False
        self._paused = False
        self._resumed = gevent.event.Event()
        self._resumed.set()
        self._on_stale = on_stale

    def __len__(self) -> int:
        return len(self._free)

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def idle(self) -> list:
        return list(self._free)

    def take(self, timeout: float, cancel: gevent.event.Event | None = None):
        """Return a READY worker, waiting up to ``timeout`` seconds."""
        if self._destroyed:
            raise _stopped()
        if not self._paused:
            while self._free:
                w = self._free.popleft()
                if w.fsm.state is State.READY:
                    return w
                self._stale(w)
        return self._wait(timeout, cancel)

    def _wait(self, timeout: float, cancel: gevent.event.Event | None):
        loop = gevent.get_hub().loop
        deadline = loop.now() + timeout
        while True:
            waiter = gevent.event.AsyncResult()
            self._waiters.append(waiter)
            remaining = deadline - loop.now()
            objs = [waiter] if cancel is None else [waiter, cancel]
            if remaining > 0:
                try:
                    gevent.wait(objs, timeout=remaining, count=1)
                except BaseException:
                    # Killed while waiting: a worker handed over meanwhile must not be lost.
                    self._abandon(waiter)
                    raise
            if waiter.ready():
                w = waiter.get()  # raises PoolStoppedError when destroyed
                if w.fsm.state is State.READY:
                    if cancel is not None and cancel.is_set():
                        self.put(w)
                        raise Cancelled("the caller went away while waiting for a worker")
                    return w
                self._stale(w)  # retired while being handed over: wait for the next one
                continue
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
            if cancel is not None and cancel.is_set():
                raise Cancelled("the caller went away while waiting for a worker")
            raise NoFreeWorkersError(
                f"static_pool_exec: NoFreeWorkers: no free workers in the pool, wait timeout "
                f"exceeded (allocate_timeout={timeout:g}s, {self.waiting} other requests "
                f"waiting); raise pool.num_workers or pool.allocate_timeout, or look for slow "
                f"requests"
            )

    def put(self, worker) -> None:
        """Return an idle worker: to the oldest waiter, or onto the free list."""
        if self._destroyed:
            return
        if not self._paused:
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.ready():
                    waiter.set(worker)
                    return
        self._free.append(worker)

    def discard(self, worker) -> None:
        with contextlib.suppress(ValueError):
            self._free.remove(worker)

    def pause(self) -> None:
        self._paused = True

    def resume(self) -> None:
        """End a pause: hand free workers to whoever queued meanwhile."""
        self._paused = False
        free, self._free = self._free, collections.deque()
        for w in free:
            if w.fsm.state is State.READY:
                self.put(w)
            else:
                self._stale(w)

    def drain(self) -> list:
        """Remove and return every idle worker (reset, destroy)."""
        free, self._free = list(self._free), collections.deque()
        return free

    def destroy(self) -> None:
        """Fail every waiter and refuse all future takes."""
        self._destroyed = True
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.ready():
                waiter.set_exception(_stopped())

    def _abandon(self, waiter: gevent.event.AsyncResult) -> None:
        if not waiter.ready():
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
        elif waiter.successful() and waiter.value is not None:
            self.put(waiter.value)

    def _stale(self, w) -> None:
        if self._on_stale is not None:
            self._on_stale(w)


def _stopped() -> PoolStoppedError:
    return PoolStoppedError(
        "static_pool_exec: Workers watcher stopped: the pool is destroyed and takes no more work"
    )
