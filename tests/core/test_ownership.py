"""Who changes a worker, and what may wait in an actor's inbox (issue 7).

Real worker processes on real relays: the PoolActor is the one that retires
workers (the supervisor only reports), retire reasons say whether an exit
was planned, and long work (a reset of workers that ignore the stop command)
no longer holds the PoolActor's inbox.
"""

from __future__ import annotations

import os
import signal
import time

import gevent
import pytest

from actors.errors import WorkerCrashedError
from actors.worker import RetireReason
from relays import Payload
from tests.support.hub import wait_for
from tests.support.procs import alive

from .test_pool import pids


def _exited(h) -> bool:
    return not alive(h.pid) and h.retire_reason is not None


def test_workers_listing_answers_at_once_while_a_slow_reset_runs(pool_harness):
    """slow_destroy ignores the stop command: the reset waits reset_timeout, then kills."""
    pool = pool_harness.pool("slow_destroy", num_workers=2, reset_timeout="3s")
    before = pids(pool)
    resetter = gevent.spawn(pool.reset)
    gevent.sleep(0.3)
    assert not resetter.ready(), "the reset ended early: nothing was measured"
    slowest = 0.0
    for _ in range(5):
        started = time.monotonic()
        pool.workers()
        # The actor's own inbox answers too (the supervisor used to queue behind a reset).
        pool.actor.proxy().snapshot().get(timeout=5)
        slowest = max(slowest, time.monotonic() - started)
        gevent.sleep(0.1)
    assert not resetter.ready(), "the reset ended while listing: the test measured nothing"
    assert slowest < 0.5, f"a listing took {slowest:.2f}s during a reset"
    resetter.get(timeout=30)
    after = pids(pool)
    assert len(after) == 2 and not after & before
    assert wait_for(lambda: not any(alive(p) for p in before), timeout=10)


def test_the_supervisor_retires_workers_only_through_the_pool(pipes_pool_harness):
    """With its PoolActor gone, a supervisor that sees workers over ttl changes nothing."""
    supervised = {"watch_tick": "100ms", "ttl": "500ms"}
    orphan = pipes_pool_harness.pool("pid", num_workers=2, supervisor=supervised)
    handles = orphan.roster.members
    orphan.actor.stop()
    control = pipes_pool_harness.pool("pid", num_workers=1, supervisor=supervised)
    (first,) = control.roster.members
    gevent.sleep(1.5)  # ttl passed long ago; over ten ticks
    assert orphan.supervisor is not None and orphan.supervisor.is_alive()
    assert [w["statusStr"] for w in orphan.workers()] == ["ready", "ready"]
    assert all(h.retire_reason is None and alive(h.pid) for h in handles), handles
    # The same supervision with a live pool does retire (the test can fail).
    assert wait_for(lambda: first.pid not in pids(control), timeout=10)
    assert first.retire_reason is RetireReason.TTL and first.exit_expected


def test_handle_fields_cannot_be_assigned_from_outside(pipes_pool_harness):
    pool = pipes_pool_harness.pool("echo", num_workers=1)
    (h,) = pool.roster.members
    for field, value in [("retire_reason", RetireReason.TTL), ("num_execs", 0), ("fsm", None)]:
        with pytest.raises(AttributeError):
            setattr(h, field, value)
    assert h.retire_reason is None and h.state.label == "ready"


def test_retire_reason_expected_for_a_max_jobs_recycle(pool_harness):
    pool = pool_harness.pool("pid", num_workers=1, max_jobs=1)
    (h,) = pool.roster.members
    assert int(pool.exec(Payload(b"x")).body) == h.pid
    assert wait_for(lambda: _exited(h), timeout=10)
    assert h.retire_reason is RetireReason.MAX_JOBS
    assert h.exit_expected
    assert wait_for(lambda: len(pids(pool)) == 1 and h.pid not in pids(pool))


def test_retire_reason_unexpected_for_a_crash(pool_harness):
    pool = pool_harness.pool("crash", num_workers=1)
    (h,) = pool.roster.members
    with pytest.raises(WorkerCrashedError):
        pool.exec(Payload(b"x"))
    assert wait_for(lambda: _exited(h), timeout=10)
    assert h.retire_reason is RetireReason.BROKEN
    assert not h.exit_expected


def test_retire_reason_unexpected_for_an_idle_worker_killed_from_outside(pipes_pool_harness):
    pool = pipes_pool_harness.pool("pid", num_workers=1)
    (h,) = pool.roster.members
    os.kill(h.pid, signal.SIGKILL)
    assert wait_for(lambda: h.pid not in pids(pool), timeout=10)
    assert h.retire_reason is RetireReason.CRASHED
    assert not h.exit_expected
    assert h.describe_reason() == "was killed by signal SIGKILL"
