"""The supervisor: soft limits checked every ``watch_tick``.

``ttl``, ``idle_ttl`` and ``max_worker_memory`` never interrupt a request.
The supervisor only reports: it reads the pool's published roster and tells
the PoolActor ``retire(handle, reason)`` for every worker over a limit; the
pool decides (an idle worker is retired at once, a busy one is marked
``invalid`` and retired when its request ends).  The supervisor never
changes a worker itself and never asks the pool anything, so it can neither
race the pool nor deadlock with it.  ``exec_ttl`` is the only hard limit and
lives on the request path (:meth:`actors.worker.WorkerHandle.receive`),
because a tick-based check could overshoot it by a whole tick.

A tick that is still running when the next one is due makes the ticker skip
that one, so slow checks never pile up in the inbox.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import gevent
import pykka

from actors.config import SupervisorConfig
from actors.fsm import State
from actors.pool.roster import Roster
from actors.runtime import GeventActor
from actors.worker import RetireReason, rss_bytes

__all__ = ["SupervisorActor"]

log = logging.getLogger("greenrunner.supervisor")

MIB = 1024 * 1024

_TICK = "tick"


def _finished(pending: pykka.Future[Any]) -> bool:
    """Whether a tick asked earlier has ended (its errors were logged by the tick)."""
    try:
        pending.get(timeout=0)
    except pykka.Timeout:
        return False
    except Exception:
        return True
    return True


class SupervisorActor(GeventActor):
    """One per supervised pool.  Reads the pool's roster; tells the pool to retire."""

    def __init__(
        self, pool_name: str, cfg: SupervisorConfig, pool: pykka.ActorRef[Any], roster: Roster
    ) -> None:
        super().__init__()
        self.pool_name = pool_name
        self.cfg = cfg
        self.pool = pool
        self.roster = roster
        self._pool = pool.proxy()
        self._ticker: gevent.Greenlet | None = None
        #: Ticks skipped because the previous one was still running.
        self.skipped = 0

    def on_start(self) -> None:
        self._ticker = gevent.spawn(self._tick_forever, self.cfg.watch_tick or 5.0)

    def _tick_forever(self, tick: float) -> None:  # the ticker greenlet
        me = self.actor_ref
        pending: pykka.Future[Any] | None = None
        while True:
            gevent.sleep(tick)
            if pending is not None and not _finished(pending):
                self.skipped += 1
                log.debug(
                    "supervisor tick skipped: the previous one is still running",
                    extra={"fields": {"pool": self.pool_name}},
                )
                continue
            try:
                pending = me.ask(_TICK, block=False)
            except pykka.ActorDeadError:
                return

    def on_stop(self) -> None:
        if self._ticker is not None:
            self._ticker.kill(block=False)

    def on_receive(self, message: Any) -> None:
        if message == _TICK:
            try:
                self.check()
            except pykka.ActorDeadError:
                pass  # the pool is gone; this supervisor is stopped next
            except Exception:
                log.exception("supervisor check failed", extra={"fields": {"pool": self.pool_name}})

    def check(self) -> None:
        """One control-loop pass over the pool's published workers."""
        cfg = self.cfg
        now = time.monotonic()
        for h in self.roster.members:
            state = h.state
            if state is not State.READY and state is not State.WORKING:
                continue
            reason: RetireReason | None = None
            if cfg.ttl and now - h.created >= cfg.ttl:
                reason = RetireReason.TTL
            elif cfg.max_worker_memory and rss_bytes(h.pid) >= cfg.max_worker_memory * MIB:
                reason = RetireReason.MEMORY
            elif (
                cfg.idle_ttl
                and state is State.READY
                and h.last_used  # never-used workers are never idle-killed
                and now - h.last_used >= cfg.idle_ttl
            ):
                reason = RetireReason.IDLE_TTL
            if reason is not None:
                self._pool.retire(h, reason)
