"""Where a request waits for a worker.

The free list is the pool's container of idle workers and of the requests
waiting for one: a released worker is handed to the oldest waiting request,
so waiting is fair (FIFO) whatever the load.  Waiting ends on a worker, on
``allocate_timeout``, on the caller's cancel event (its client went away),
or on destroy.  During a reset takers wait instead of failing.  While the
pool has no worker and cannot start one (the PoolActor says so with
:meth:`FreeList.set_unavailable`), takers fail at once instead of waiting
``allocate_timeout`` for a worker that will not come.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event
from gevent.hub import Waiter

from actors.errors import NoFreeWorkersError, PoolStoppedError
from actors.fsm import State

if TYPE_CHECKING:  # the worker module imports nothing from here; typing only
    from actors.worker import WorkerHandle

__all__ = ["Cancelled", "FreeList"]


class Cancelled(Exception):
    """The caller gave up waiting (its cancel event fired)."""


_READY = State.READY

#: Handed to every waiter by destroy(): it fails with PoolStoppedError.
_STOPPED: Any = object()
#: Handed to every waiter by set_unavailable(): it fails with the pool's reason.
_UNAVAILABLE: Any = object()
#: What a waiter wakes up with when its allocate_timeout fires, or its caller went away.
_TIMED_OUT: Any = object()
_CANCELLED: Any = object()


class _Slot(Waiter):
    """One request's place in line: the hub wakes its greenlet with the worker handed over.

    A :class:`gevent.hub.Waiter` itself (one object per wait, made by Cython's constructor; the
    fields are set by :meth:`FreeList._park`), woken by a loop callback: an
    :class:`~gevent.event.AsyncResult` per wait cost three times as much on the request path.
    ``handed`` is the worker (or _STOPPED...) handed over, set before the greenlet runs again;
    ``gone`` means the waiter gave up (timeout, cancel) and put() skips it; ``deadline`` is when
    ``allocate_timeout`` ends the wait (the hub loop's clock).
    """

    __slots__ = ("deadline", "gone", "handed")

    deadline: float
    gone: bool
    handed: Any

    def on_cancel(self, _event: object) -> None:
        # Runs in the hub: wake the greenlet only while nothing was handed over yet.
        if self.handed is None and not self.gone:
            self.switch(_CANCELLED)


class FreeList:
    """Idle workers and the greenlets waiting for one, with a direct hand-over.

    A released worker goes straight to the oldest waiter (its own
    :class:`~gevent.event.AsyncResult`), never back on a shelf where a
    greenlet that arrives later could grab it first: under load a gevent
    queue lets such late takers barge ahead, so early waiters starve until
    ``allocate_timeout`` (that is what p99 and a waiting ``remove_worker``
    saw).  So there are idle workers or waiters, never both.

    Workers that stopped being READY while idle (retired by the supervisor,
    crashed) are skipped and handed to ``on_stale``, so the shelf never
    needs random removal.
    """

    def __init__(self, on_stale: Callable[[WorkerHandle], None] | None = None) -> None:
        self._idle: deque[WorkerHandle] = deque()
        self._waiters: deque[_Slot] = deque()
        #: Waiters still in line (the deque may also hold ones that gave up).
        self._parked = 0
        self._destroyed = False
        self._resumed = gevent.event.Event()
        self._resumed.set()
        self._on_stale = on_stale
        #: Why no worker can come (set by the PoolActor); None while one may.
        self._unavailable: str | None = None
        #: One timer for the whole line, due at the earliest deadline of a waiter (see
        #: :meth:`_expire`), instead of a timer made, started and closed per wait.
        self._timer: Any = None
        self._timer_due = 0.0
        #: The hub's loop (a free list lives and is used in one hub's thread).
        self._loop = gevent.get_hub().loop

    def __len__(self) -> int:
        return len(self._idle)

    @property
    def waiting(self) -> int:
        """Requests parked for a worker right now."""
        return self._parked

    def idle(self) -> list[WorkerHandle]:
        return list(self._idle)

    def take(self, timeout: float, cancel: gevent.event.Event | None = None) -> WorkerHandle:
        """Return a READY worker, waiting up to ``timeout`` seconds (oldest waiter first)."""
        if self._destroyed:
            raise _stopped()
        idle = self._idle
        if idle and self._resumed.is_set():
            # The usual case: a worker waits on the shelf (so nobody waits in line).
            w = idle.popleft()
            if w.state is _READY:
                return w
            self._stale(w)
        loop = self._loop
        deadline = loop.now() + timeout
        if not self._resumed.is_set():
            self._wait_resumed(deadline, cancel)
        while True:
            w = idle.popleft() if idle else self._park(deadline - loop.now(), cancel, timeout)
            if w.state is _READY:
                return w
            self._stale(w)

    def _park(
        self, remaining: float, cancel: gevent.event.Event | None, timeout: float
    ) -> WorkerHandle:
        """Wait in line for a hand-over; a worker handed over as we give up goes back."""
        if self._destroyed:
            raise _stopped()
        if cancel is not None and cancel.is_set():
            raise Cancelled("the caller went away while waiting for a worker")
        if self._unavailable is not None:
            raise NoFreeWorkersError(self._unavailable)
        if remaining <= 0:
            raise self._no_free(timeout, others=self._parked)
        slot = _Slot()
        slot.deadline = self._loop.now() + remaining
        slot.handed = None
        slot.gone = False
        self._waiters.append(slot)
        self._parked += 1
        timer = self._timer
        if timer is None or not timer.active or slot.deadline < self._timer_due:
            self._arm(slot.deadline)
        if cancel is not None:
            cancel.rawlink(slot.on_cancel)
        try:
            result = slot.get()
        except BaseException:
            # Killed while waiting (GreenletExit): leave the line, or the next worker released
            # would be handed to this dead wait and never come back.
            self._give_up(slot)
            raise
        finally:
            if cancel is not None:
                cancel.unlink(slot.on_cancel)
        if result is _TIMED_OUT or result is _CANCELLED:
            self._give_up(slot)
            if result is _CANCELLED:
                raise Cancelled("the caller went away while waiting for a worker")
            raise self._no_free(timeout, others=self._parked)
        if result is _STOPPED:
            raise _stopped()
        if result is _UNAVAILABLE:
            raise NoFreeWorkersError(self._unavailable or "static_pool_exec: NoFreeWorkers")
        return result

    def _arm(self, due: float) -> None:
        """(Re)start the line's timer to fire at ``due`` (loop clock)."""
        loop = self._loop
        if self._timer is not None:
            self._timer.stop()  # not close(): this may run inside the old timer's callback
        self._timer = loop.timer(max(due - loop.now(), 0.0))
        self._timer_due = due
        self._timer.start(self._expire)

    def _idle_line(self) -> None:
        """Nobody waits any more: stop the timer, which must not keep the hub's loop alive."""
        if self._timer is not None:
            self._timer.stop()

    def _expire(self) -> None:
        """Runs in the hub when the earliest deadline is due: wake every waiter whose
        ``allocate_timeout`` has passed, then re-arm for the earliest one left.

        Waiters usually share one timeout and leave in order, so this fires about once per
        ``allocate_timeout`` while the line is busy, not once per request.
        """
        now = self._loop.now()
        due = None
        for slot in list(self._waiters):  # woken greenlets may change the line
            if slot.gone or slot.handed is not None:
                continue
            if slot.deadline <= now:
                slot.switch(_TIMED_OUT)
            elif due is None or slot.deadline < due:
                due = slot.deadline
        if due is not None and not self._destroyed:
            self._arm(due)

    def _give_up(self, slot: _Slot) -> None:
        """Leave the line; a worker handed over meanwhile goes to the next in line."""
        if slot.handed is not None:
            if slot.handed is not _STOPPED and slot.handed is not _UNAVAILABLE:
                self.put(slot.handed)
        else:
            slot.gone = True  # skipped by put(); no O(n) removal from the line
            self._parked -= 1
            if not self._parked:
                self._idle_line()

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

    def _no_free(self, timeout: float, others: int) -> NoFreeWorkersError:
        return NoFreeWorkersError(
            f"static_pool_exec: NoFreeWorkers: no free workers in the pool, wait timeout "
            f"exceeded (allocate_timeout={timeout:g}s, {others} other requests "
            f"waiting); raise pool.num_workers or pool.allocate_timeout, or look for slow "
            f"requests"
        )

    def put(self, worker: WorkerHandle) -> None:
        """Return an idle worker: to the oldest waiting request, else onto the shelf."""
        if self._destroyed:
            return
        waiters = self._waiters
        while waiters:
            slot = waiters.popleft()
            if not slot.gone:
                self._parked -= 1
                slot.handed = worker
                self._loop.run_callback(slot.switch, worker)
                if not self._parked:
                    self._idle_line()
                return
        self._idle.append(worker)

    def set_unavailable(self, reason: str) -> None:
        """No worker is alive and none can start (``reason``): fail takers at once.

        Called by the PoolActor while a respawn keeps failing on an empty pool;
        waiting requests fail now with ``reason`` (the HTTP plugin answers 503
        with Retry-After), later ones without parking.
        """
        self._unavailable = reason
        waiters = self._waiters
        while waiters:
            slot = waiters.popleft()
            if not slot.gone:
                self._parked -= 1
                slot.handed = _UNAVAILABLE
                self._loop.run_callback(slot.switch, _UNAVAILABLE)

    def set_available(self) -> None:
        """A worker joined: takers wait in line again."""
        self._unavailable = None

    def pause(self) -> None:
        """Make takers wait (a reset is rebuilding the pool)."""
        self._resumed.clear()

    def resume(self) -> None:
        self._resumed.set()

    def drain(self) -> list[WorkerHandle]:
        """Remove and return every idle worker (reset, destroy)."""
        out = list(self._idle)
        self._idle.clear()
        return out

    def destroy(self) -> None:
        """Fail every waiter and refuse all future takes."""
        self._destroyed = True
        if self._timer is not None:
            self._timer.close()
            self._timer = None
        self.drain()
        while self._waiters:
            slot = self._waiters.popleft()
            if not slot.gone:
                self._parked -= 1
                slot.handed = _STOPPED
                self._loop.run_callback(slot.switch, _STOPPED)
        self._resumed.set()

    def _stale(self, w: WorkerHandle) -> None:
        if self._on_stale is not None:
            self._on_stale(w)


def _stopped() -> PoolStoppedError:
    return PoolStoppedError(
        "static_pool_exec: Workers watcher stopped: the pool is destroyed and takes no more work"
    )
