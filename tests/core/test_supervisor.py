"""Supervisor scenarios (ttl, idle_ttl, memory, exec_ttl) on every relay."""

from __future__ import annotations

import gevent
import pytest

from actors.errors import ExecTTLError
from relays import Payload
from tests.support.hub import wait_for
from tests.support.pools import pids


def test_ttl_replaces_workers(pool_harness):
    pool = pool_harness.pool(
        "pid", num_workers=2, supervisor={"watch_tick": "100ms", "ttl": "500ms"}
    )
    before = pids(pool)
    assert wait_for(lambda: len(pids(pool)) == 2 and not (pids(pool) & before), timeout=10)
    assert int(pool.exec(Payload(b"x")).body) in pids(pool)


def test_ttl_never_interrupts_a_request(pool_harness):
    pool = pool_harness.pool(
        "sleep", num_workers=1, supervisor={"watch_tick": "100ms", "ttl": "300ms"}
    )
    (pid,) = pids(pool)
    assert pool.exec(Payload(b"1")).body == b"slept"  # longer than ttl: finishes
    assert wait_for(lambda: len(pids(pool)) == 1 and pid not in pids(pool))


def test_idle_ttl_skips_never_used_workers(pool_harness):
    pool = pool_harness.pool(
        "pid", num_workers=2, supervisor={"watch_tick": "100ms", "idle_ttl": "1s"}
    )
    before = pids(pool)
    used = int(pool.exec(Payload(b"x")).body)
    assert wait_for(lambda: used not in pids(pool), timeout=10)
    untouched = before - {used}
    assert untouched <= pids(pool), "a never-used worker must not be idle-killed"


def test_max_worker_memory_recycles_leaking_worker(pool_harness):
    # The first tick comes 1 s after the pool is up: the five requests below all reach the
    # first worker before the supervisor looks (with a 100 ms tick, a loaded machine let it
    # retire the worker mid-loop, and the "fresh" worker had already served requests).
    pool = pool_harness.pool(
        "memleak", num_workers=1, supervisor={"watch_tick": "1s", "max_worker_memory": 40}
    )
    (pid,) = pids(pool)
    for _ in range(5):  # +10 MiB each: past 40 MiB
        pool.exec(Payload(b"x"))
    assert wait_for(lambda: len(pids(pool)) == 1 and pid not in pids(pool), timeout=10)
    # Checked on release too: no worker ever holds much more than the limit.
    assert int(pool.exec(Payload(b"x")).body) <= 40 << 20


def test_exec_ttl_kills_and_replaces(pool_harness):
    pool = pool_harness.pool("sleep", num_workers=1, supervisor={"exec_ttl": "500ms"})
    (pid,) = pids(pool)
    with pytest.raises(ExecTTLError, match="ExecTTL"):
        pool.exec(Payload(b"5"))
    assert wait_for(lambda: len(pids(pool)) == 1 and pid not in pids(pool))
    assert pool.exec(Payload(b"0")).body == b"slept"


def test_request_under_exec_ttl_survives(pool_harness):
    pool = pool_harness.pool("sleep", num_workers=1, supervisor={"exec_ttl": "2s"})
    (pid,) = pids(pool)
    assert pool.exec(Payload(b"0.5")).body == b"slept"
    gevent.sleep(0.2)
    assert pids(pool) == {pid}


def test_a_slow_tick_makes_the_next_ones_skip_instead_of_queueing(pipes_pool_harness):
    """A check slower than watch_tick: ticks are skipped, none piles up in the inbox.

    The check is made slow on purpose (a subclass that sleeps), the pool is real.
    """
    import time

    from actors.config import SupervisorConfig
    from actors.supervisor import SupervisorActor

    checks: list[float] = []

    class SlowSupervisor(SupervisorActor):
        def check(self) -> None:
            checks.append(time.monotonic())
            gevent.sleep(0.3)
            super().check()

    pool = pipes_pool_harness.pool("pid", num_workers=1)
    ref = SlowSupervisor.start("test", SupervisorConfig(watch_tick=0.05), pool.actor, pool.roster)
    try:
        gevent.sleep(1.2)
        skipped = ref.proxy().skipped.get(timeout=2)
    finally:
        started = time.monotonic()
        ref.stop(timeout=5)
        stopped_in = time.monotonic() - started
    assert 2 <= len(checks) <= 5, f"{len(checks)} checks of 0.3 s in 1.2 s"
    assert skipped >= 10, f"only {skipped} ticks skipped"
    # Nothing queued behind the running check: stopping waits for one check at most.
    assert stopped_in < 0.6, f"stopping took {stopped_in:.2f}s: ticks piled up in the inbox"
