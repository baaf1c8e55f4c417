"""The PoolActor: the only owner of a pool's set of workers.

It decides which workers exist: it allocates them, replaces the ones that
exit, retires the ones the supervisor reports, resets and destroys.  Every
change to the set happens in its inbox and is published in the
:class:`~actors.pool.roster.Roster` for readers.

Its inbox only ever runs short handlers.  Anything that waits (spawning
workers, waiting for requests to finish, stopping workers) runs in helper
greenlets the actor owns: ``allocate``/``reset``/``destroy`` start such an
*operation* and return an :class:`~gevent.event.AsyncResult` the caller
waits on outside the inbox.  Operations run one after the other, in call
order; an operation changes the worker set only by asking the actor's own
inbox (``_in_inbox``), so the set keeps a single writer.

Messages:

* asks from the ``Pool`` facade: ``allocate()``, ``reset()``,
  ``destroy(timeout)``, ``snapshot()``;
* tells from below (events go upward with ``tell``, so no ask cycle can
  deadlock): ``worker_exited(handle)`` (a WorkerActor's exit watcher),
  ``worker_ready(handle)`` (a respawn greenlet), ``retire(handle, reason)``
  (the supervisor: a limit was reached; the pool decides what to do),
  ``stop_retired(handle)`` (the request path or the free list: a worker that
  must not serve again).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import gevent
import gevent.event
import pykka

from actors.config import PoolConfig
from actors.errors import PoolError, PoolStoppedError
from actors.freelist import FreeList
from actors.fsm import State
from actors.pool.crashloop import CrashLoop
from actors.pool.roster import Roster
from actors.runtime import GeventActor
from actors.worker import (
    RetireReason,
    Verdict,
    WorkerHandle,
    WorkerSpec,
    start_worker,
    start_workers,
    stop_workers,
)

__all__ = ["MAX_RESPAWN_BACKOFF", "PoolActor"]

log = logging.getLogger("greenrunner.pool")
#: Limit retirements keep the supervisor's logger, as before the pool decided them.
limits_log = logging.getLogger("greenrunner.supervisor")

T = TypeVar("T")

#: How long a failed replacement waits before the next try, at most.
MAX_RESPAWN_BACKOFF = 30.0
#: From this crash-loop pause on, an empty pool fails requests at once instead of holding them.
FAIL_FAST_BACKOFF = 1.0
#: How often an operation checks whether requests in flight have finished.
IDLE_POLL = 0.05


@dataclass(frozen=True, slots=True)
class _Run:
    """A message an operation greenlet sends to run ``fn`` in the actor's inbox."""

    fn: Callable[[], Any]


class PoolActor(GeventActor):
    """Owns the worker set of one pool; every change to the set happens here."""

    def __init__(
        self,
        name: str,
        cfg: PoolConfig,
        spec_factory: Callable[[], WorkerSpec],
        free: FreeList,
        roster: Roster,
    ) -> None:
        super().__init__()
        self.name = name
        self.cfg = cfg
        self.spec_factory = spec_factory
        self.free = free
        self.roster = roster
        self._handles: dict[int, WorkerHandle] = {}
        self._destroyed = False
        self._resetting = False
        self._respawners: set[gevent.Greenlet] = set()
        self._operation: gevent.Greenlet | None = None
        self._destroying: gevent.event.AsyncResult | None = None
        self._crash_loop = CrashLoop()
        #: How many workers the pool keeps: ``num_workers``, moved by add/remove_worker.
        self._target = cfg.num_workers

    # -- plumbing ----------------------------------------------------------------------

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, _Run):
            return message.fn()
        return None

    def _in_inbox(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in the inbox (from an operation greenlet) and return its result."""
        return cast(T, self.actor_ref.ask(_Run(fn)))

    def on_stop(self) -> None:
        self._cancel_respawns()
        if self._operation is not None:
            self._operation.kill(block=False)

    def _spec(self) -> WorkerSpec:
        spec = self.spec_factory()
        me = self.actor_ref.proxy()

        def on_exit(handle: WorkerHandle) -> None:
            with contextlib.suppress(pykka.ActorDeadError):
                me.worker_exited(handle)

        spec.on_exit = on_exit
        return spec

    def _publish(self) -> None:
        self.roster.publish(self._handles.values())

    def _start_operation(self, op: Callable[[], None]) -> gevent.event.AsyncResult:
        """Run ``op`` in a helper greenlet after the previous operation ended."""
        done = gevent.event.AsyncResult()
        previous = self._operation

        def run() -> None:
            if previous is not None:
                previous.join()
            try:
                op()
            except Exception as exc:
                done.set_exception(exc, sys.exc_info())
            except BaseException:
                done.set_exception(PoolStoppedError("static_pool: the pool actor stopped"))
                raise
            else:
                done.set(None)

        self._operation = gevent.spawn(run)
        return done

    # -- allocation -----------------------------------------------------------------------

    def allocate(self) -> gevent.event.AsyncResult:
        """Start ``num_workers`` workers; all of them come up or none is kept."""
        return self._start_operation(self._allocate)

    def _allocate(self) -> None:  # operation greenlet
        n = self.cfg.num_workers
        handles = start_workers([self._spec() for _ in range(n)])
        if not self._in_inbox(lambda: self._adopt(handles)):
            raise PoolStoppedError(
                "static_pool_allocate_workers: the pool was destroyed while its workers started"
            )
        log.info(
            "pool started",
            extra={
                "fields": {"pool": self.name, "workers": n, "pids": sorted(h.pid for h in handles)}
            },
        )

    def _adopt(self, handles: list[WorkerHandle]) -> bool:
        """Make freshly started workers members; refuse them once the pool is destroyed."""
        if self._destroyed:
            for h in handles:
                h.destroy(RetireReason.ABANDONED)
                self._stop_worker(h)
            return False
        if handles:
            self.free.set_available()
        for h in handles:
            self._handles[h.pid] = h
            self.free.put(h)
        self._publish()
        return True

    def worker_ready(self, handle: WorkerHandle) -> None:
        """A replacement finished its handshake."""
        if self._destroyed or self._resetting:  # a reset brings a full set of its own
            handle.destroy(RetireReason.ABANDONED)
            self._stop_worker(handle, timeout=1.0)
            return
        self._adopt([handle])

    def worker_exited(self, handle: WorkerHandle) -> None:
        """A worker process is gone; replace it unless it was removed on purpose."""
        known = self._handles.get(handle.pid) is handle
        if not known:
            return
        del self._handles[handle.pid]
        self._publish()
        if self._destroyed or self._resetting or handle.state is State.DESTROYED:
            return
        delay = self._crash_loop.delay(handle)
        level = (
            logging.ERROR if delay else logging.INFO if handle.exit_expected else logging.WARNING
        )
        log.log(
            level,
            "worker stopped, and will be restarted"
            + (f" in {delay:g}s: workers keep dying right after they start" if delay else ""),
            extra={
                "fields": {
                    "pool": self.name,
                    "pid": handle.pid,
                    "state": handle.state.label,
                    "reason": handle.describe_reason(),
                    "exit": handle.process.describe_exit(),
                }
            },
        )
        if delay >= FAIL_FAST_BACKOFF and not self._handles:
            # Nothing can serve until the backoff ends: waiting allocate_timeout would
            # only hold every request hostage to a crash loop.  Shorter pauses (the first
            # deaths in a row, e.g. a burst of kills) are worth waiting for.
            self.free.set_unavailable(
                f"static_pool_exec: NoFreeWorkers: workers keep dying right after they "
                f"start (last: pid {handle.pid} {handle.process.describe_exit()}); "
                f"next start in {delay:g}s"
            )
        self._start_respawn(delay)

    def _start_respawn(self, delay: float = 0.0) -> None:
        g = gevent.spawn_later(delay, self._respawn) if delay else gevent.spawn(self._respawn)
        self._respawners.add(g)
        g.link(self._respawners.discard)

    def _cancel_respawns(self) -> None:
        for g in list(self._respawners):
            g.kill(block=False)

    def _respawn(self) -> None:  # respawn greenlet
        """Spawn one replacement, retrying every second, then with backoff.

        RoadRunner panics when a pool can no longer be refilled; a pool that
        keeps trying (and answers "no free workers" meanwhile) heals by
        itself once the cause (a deploy, a full disk) is gone.
        """
        delay = 1.0
        started = time.monotonic()
        me = self.actor_ref.proxy()
        while not self._destroyed:
            try:
                handle = start_worker(self._spec())
            except Exception as exc:
                waited = time.monotonic() - started
                log.error(
                    "failed to allocate the worker, will retry",
                    extra={
                        "fields": {
                            "pool": self.name,
                            "error": str(exc),
                            "retry_in": delay,
                            "failing_for": round(waited, 1),
                        }
                    },
                )
                reason = (
                    f"static_pool_exec: NoFreeWorkers: no worker can start: {exc}; "
                    f"retrying in {delay:g}s"
                )
                with contextlib.suppress(pykka.ActorDeadError):
                    self._in_inbox(functools.partial(self._spawn_failed, reason))
                gevent.sleep(delay)
                if waited >= self.cfg.allocate_timeout:
                    delay = min(delay * 2, MAX_RESPAWN_BACKOFF)
                continue
            try:
                me.worker_ready(handle)
            except pykka.ActorDeadError:
                handle.actor.proxy().stop_worker(1.0)
            return

    def _spawn_failed(self, reason: str) -> None:
        """A replacement could not start: with no worker left, requests fail at once."""
        if not self._handles and not self._destroyed and not self._resetting:
            self.free.set_unavailable(reason)

    # -- retirement --------------------------------------------------------------------------

    def retire(self, handle: WorkerHandle, reason: RetireReason) -> None:
        """A limit was reached (told by the supervisor): retire the worker if it is ours.

        An idle worker is stopped now; a busy one is marked ``invalid`` and
        retired when its request ends (soft limits never interrupt a request).
        """
        if self._handles.get(handle.pid) is not handle:
            return  # gone or replaced since the supervisor's snapshot
        verdict = handle.retire(reason)
        fields = {"pool": self.name, "pid": handle.pid, "reason": reason.text}
        if verdict is Verdict.STOP:
            limits_log.info("worker reached a limit and will be replaced", extra={"fields": fields})
            self._stop_worker(handle)
        elif verdict is Verdict.DEFERRED:
            limits_log.info(
                "busy worker reached a limit; it will be replaced after its request",
                extra={"fields": fields},
            )

    def stop_retired(self, handle: WorkerHandle) -> None:
        """A worker that must not serve again was handed back: stop it; its exit refills."""
        self._stop_worker(handle)

    def _stop_worker(self, handle: WorkerHandle, timeout: float | None = None) -> None:
        if not handle.process.alive():
            return
        try:
            if timeout is None:
                handle.actor.proxy().stop_worker()
            else:
                handle.actor.proxy().stop_worker(timeout)
        except pykka.ActorDeadError:
            handle.process.kill()

    # -- scaling (informer.AddWorker / RemoveWorker) ---------------------------------------

    def add_worker(self) -> gevent.event.AsyncResult:
        """Start one more worker, supervised and replaced like the others."""
        if self._destroyed:
            raise PoolStoppedError("static_pool_add_worker: the pool is destroyed")
        return self._start_operation(self._add_worker)

    def _add_worker(self) -> None:  # operation greenlet
        handle = start_worker(self._spec())

        def adopt() -> bool:
            if not self._adopt([handle]):
                return False
            self._target += 1
            return True

        if not self._in_inbox(adopt):
            raise PoolStoppedError("static_pool_add_worker: the pool was destroyed meanwhile")
        log.info(
            "worker added",
            extra={"fields": {"pool": self.name, "pid": handle.pid, "workers": self._target}},
        )

    def remove_worker(self) -> gevent.event.AsyncResult:
        """Stop one idle worker for good (waiting up to ``allocate_timeout`` for one)."""
        if self._destroyed:
            raise PoolStoppedError("static_pool_remove_worker: the pool is destroyed")
        return self._start_operation(self._remove_worker)

    def _remove_worker(self) -> None:  # operation greenlet
        if self._in_inbox(lambda: self._target) <= 1:
            raise PoolError(
                f"static_pool_remove_worker: pool {self.name!r} has one worker left; "
                "a pool cannot be emptied (destroy it, or add a worker first)"
            )
        # Taken like a request takes one, so no request can be holding it.
        handle = self.free.take(self.cfg.allocate_timeout)

        def detach() -> bool:
            if self._handles.get(handle.pid) is not handle:
                return False  # it died meanwhile; its replacement is on its way
            del self._handles[handle.pid]
            handle.destroy(RetireReason.REMOVED)
            self._target -= 1
            self._publish()
            return True

        if not self._in_inbox(detach):
            raise PoolError("static_pool_remove_worker: the worker taken exited; try again")
        stop_workers([handle], timeout=self.cfg.destroy_timeout)
        log.info(
            "worker removed",
            extra={"fields": {"pool": self.name, "pid": handle.pid, "workers": self._target}},
        )

    # -- reset ------------------------------------------------------------------------------

    def reset(self) -> gevent.event.AsyncResult:
        """Start replacing every worker; requests queue meanwhile instead of failing.

        If the new workers cannot start (a bad deploy), the error goes back
        to the caller and the pool keeps trying to refill itself, as after a
        crash, instead of sitting empty.
        """
        if self._destroyed:
            raise PoolStoppedError("static_pool_reset: the pool is destroyed")
        return self._start_operation(self._reset)

    def _reset(self) -> None:  # operation greenlet
        self._in_inbox(self._begin_reset)
        handles: list[WorkerHandle] = []
        refill = 0
        try:
            self._wait_idle(time.monotonic() + self.cfg.reset_timeout)
            old = self._in_inbox(lambda: self._detach_all(RetireReason.RESET))
            stop_workers(old, timeout=self.cfg.reset_timeout)
            try:
                handles = start_workers([self._spec() for _ in range(self._target)])
            except PoolError as exc:
                log.error(
                    "reset could not start new workers; the pool keeps trying",
                    extra={"fields": {"pool": self.name, "error": str(exc)}},
                )
                refill = self._target
                raise
        finally:
            # One inbox call adopts the new set and ends the reset, so no exit can
            # fall between the two (an exit during a reset is not replaced).
            try:
                adopted = self._in_inbox(lambda: self._end_reset(handles, refill))
            except pykka.ActorDeadError:
                adopted = False
                for h in handles:
                    h.process.kill()
        if not adopted:
            raise PoolStoppedError("static_pool_reset: the pool was destroyed during the reset")
        log.info("reset finished", extra={"fields": {"pool": self.name}})

    def _begin_reset(self) -> None:
        if self._destroyed:
            raise PoolStoppedError("static_pool_reset: the pool is destroyed")
        log.info("reset started", extra={"fields": {"pool": self.name}})
        self._resetting = True
        self._cancel_respawns()  # the reset brings a full set; no extra worker may join later
        self.free.pause()

    def _end_reset(self, handles: list[WorkerHandle], refill: int) -> bool:
        """Adopt the new workers (if any), let takers in again, refill after a failure."""
        self._resetting = False
        adopted = self._adopt(handles)
        self.free.resume()
        if not self._destroyed:
            for _ in range(refill):
                self._start_respawn()
        return adopted

    def _detach_all(self, reason: RetireReason) -> list[WorkerHandle]:
        """Remove every member (they will not be replaced); the caller stops them."""
        self._cancel_respawns()
        old = list(self._handles.values())
        self._handles.clear()
        self._publish()
        for h in old:
            h.destroy(reason)
        if not self._destroyed:  # destroy() emptied the free list and left its stop mark
            self.free.drain()
        return old

    def _wait_idle(self, deadline: float) -> None:  # operation greenlet
        """Wait until no member is busy, or ``deadline``; reads the published roster."""
        while time.monotonic() < deadline:
            if not any(h.state is State.WORKING for h in self.roster.members):
                return
            gevent.sleep(IDLE_POLL)

    # -- destroy ----------------------------------------------------------------------------

    def destroy(self, timeout: float | None = None) -> gevent.event.AsyncResult:
        """Stop taking work, let in-flight requests finish, stop every worker.

        Waiters fail at once; the stopping itself runs after any reset in
        progress, in an operation greenlet.  Calling it again returns the
        same result.
        """
        if self._destroying is not None:
            return self._destroying
        budget = self.cfg.destroy_timeout if timeout is None else timeout
        deadline = time.monotonic() + budget
        self._destroyed = True
        self.free.destroy()
        self._cancel_respawns()
        self._destroying = self._start_operation(lambda: self._destroy(deadline))
        return self._destroying

    def _destroy(self, deadline: float) -> None:  # operation greenlet
        self._wait_idle(deadline)
        handles = self._in_inbox(lambda: self._detach_all(RetireReason.DESTROY))
        stop_workers(handles, timeout=max(0.1, deadline - time.monotonic()))
        for h in handles:
            if h.process.alive():
                h.process.kill()
        for h in handles:
            with contextlib.suppress(pykka.ActorDeadError, pykka.Timeout):
                h.actor.proxy().exited().get(timeout=3).wait(2.0)
        log.info("pool destroyed", extra={"fields": {"pool": self.name}})

    # -- introspection ----------------------------------------------------------------------

    def snapshot(self) -> list[WorkerHandle]:
        """The current members (also published in the roster, which needs no ask)."""
        return list(self.roster.members)
