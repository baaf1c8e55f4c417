"""The supervisor: soft limits checked every ``watch_tick``.

``ttl``, ``idle_ttl`` and ``max_worker_memory`` never interrupt a request:
an idle worker over a limit is retired at once, a busy one is marked
``invalid`` and retired when its request ends.  ``exec_ttl`` is the only hard
limit and lives on the request path (:meth:`actors.worker.WorkerHandle.receive`),
because a tick-based check could overshoot it by a whole tick.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import gevent
import pykka

from actors.fsm import State
from actors.runtime import GeventActor
from actors.worker import rss_bytes

__all__ = ["SupervisorActor"]

log = logging.getLogger("greenrunner.supervisor")

MIB = 1024 * 1024


class SupervisorActor(GeventActor):
    """One per supervised pool.  Asks the pool for a snapshot; tells it to retire.

    The pool never asks the supervisor anything, so the ask here cannot
    deadlock.
    """

    def __init__(self, pool_name: str, cfg: Any, pool: pykka.ActorRef) -> None:
        super().__init__()
        self.pool_name = pool_name
        self.cfg = cfg
        self.pool = pool
        self._ticker: gevent.Greenlet | None = None

    def on_start(self) -> None:
        tick = self.cfg.watch_tick or 5.0
        me = self.actor_ref

        def ticker() -> None:
            while True:
                gevent.sleep(tick)
                try:
                    me.tell("tick")
                except pykka.ActorDeadError:
                    return

        self._ticker = gevent.spawn(ticker)

    def on_stop(self) -> None:
        if self._ticker is not None:
            self._ticker.kill(block=False)

    def on_receive(self, message: Any) -> None:
        if message == "tick":
            self.check()

    def check(self) -> None:
        """One control-loop pass over a snapshot of the pool's workers."""
        try:
            handles = self.pool.proxy().snapshot().get(timeout=30)
        except (pykka.ActorDeadError, pykka.Timeout):
            return
        cfg = self.cfg
        now = time.monotonic()
        pool = self.pool.proxy()
        for h in handles:
            state = h.fsm.state
            if state not in (State.READY, State.WORKING):
                continue
            reason = ""
            if cfg.ttl and now - h.created >= cfg.ttl:
                reason, target = "ttl", State.TTL_REACHED
            elif cfg.max_worker_memory and rss_bytes(h.pid) >= cfg.max_worker_memory * MIB:
                reason, target = "max_worker_memory", State.MAX_MEMORY_REACHED
            elif (
                cfg.idle_ttl
                and state is State.READY
                and h.last_used  # never-used workers are never idle-killed
                and now - h.last_used >= cfg.idle_ttl
            ):
                reason, target = "idle_ttl", State.IDLE_TTL_REACHED
            if not reason:
                continue
            h.retire_reason = reason
            if state is State.READY:
                h.fsm.transition(target)
                log.info(
                    "worker reached a limit and will be replaced",
                    extra={"fields": {"pool": self.pool_name, "pid": h.pid, "reason": reason}},
                )
                try:
                    pool.retire(h)
                except pykka.ActorDeadError:
                    return
            else:
                # Busy: finish the request first, then retire on release.
                h.fsm.transition(State.INVALID)
                log.info(
                    "busy worker reached a limit; it will be replaced after its request",
                    extra={"fields": {"pool": self.pool_name, "pid": h.pid, "reason": reason}},
                )
