"""Supervisor limits on busy workers, watch_tick, and what the listing shows.

Covered elsewhere (tests/core/test_supervisor.py): ttl on idle workers and "a request
longer than ttl finishes", idle_ttl (never-used workers skipped), max_worker_memory on an
idle worker, exec_ttl kill and survival just under it.
"""

from __future__ import annotations

import time

import gevent
import pytest

from relays import Payload
from tests.support.hub import wait_for
from tests.support.pools import pids


def _status(pool, pid: int) -> str | None:
    for w in pool.workers():
        if w["pid"] == pid:
            return w["statusStr"]
    return None


def test_listing_shows_working_while_busy_then_ready(pool_harness):
    pool = pool_harness.pool("fault_pid", num_workers=1)
    (pid,) = pids(pool)
    g = gevent.spawn(pool.exec, Payload(b"0.8"))
    assert wait_for(lambda: _status(pool, pid) == "working", timeout=0.6)
    (w,) = pool.workers()
    assert w["numExecs"] == 1
    assert int(g.get(timeout=5).body) == pid
    assert _status(pool, pid) == "ready"


def test_ttl_on_a_busy_worker_shows_invalid_during_the_request_then_recycles(pool_harness):
    pool = pool_harness.pool(
        "fault_pid", num_workers=1, supervisor={"watch_tick": "100ms", "ttl": "300ms"}
    )
    (pid,) = pids(pool)
    g = gevent.spawn(pool.exec, Payload(b"1.5"))
    assert wait_for(lambda: _status(pool, pid) == "working", timeout=0.3)
    # ttl passes while the request runs: marked, not killed.
    assert wait_for(
        lambda: _status(pool, pid) == "invalid", timeout=1.0, what=lambda: pool.workers()
    )
    assert not g.ready()
    assert int(g.get(timeout=5).body) == pid, "the request was interrupted"
    assert wait_for(lambda: len(pids(pool)) == 1 and pid not in pids(pool), timeout=5)


def test_memory_limit_on_a_busy_worker_delivers_the_response_then_recycles(pool_harness):
    pool = pool_harness.pool(
        "fault_hog",
        num_workers=1,
        supervisor={"watch_tick": "100ms", "max_worker_memory": 60},
    )
    (pid,) = pids(pool)
    g = gevent.spawn(pool.exec, Payload(b"120:1.5"))  # +120 MiB, then 1.5 s of work
    assert wait_for(
        lambda: _status(pool, pid) == "invalid", timeout=1.4, what=lambda: pool.workers()
    )
    assert not g.ready()
    assert int(g.get(timeout=5).body) == pid, "the response was not delivered"
    assert wait_for(lambda: len(pids(pool)) == 1 and pid not in pids(pool), timeout=5)
    (w,) = pool.workers()
    assert w["statusStr"] == "ready" and w["memory_bytes"] < 60 << 20


def test_limits_are_checked_once_per_watch_tick(pool_harness):
    """ttl 100 ms but watch_tick 1 s: nothing happens before the first tick, then it does."""
    started = time.monotonic()
    pool = pool_harness.pool(
        "fault_pid", num_workers=1, supervisor={"watch_tick": "1s", "ttl": "100ms"}
    )
    (pid,) = pids(pool)
    gevent.sleep(max(0.0, 0.6 - (time.monotonic() - started)))
    assert pids(pool) == {pid}, "recycled before the first tick"
    assert wait_for(
        lambda: pid not in pids(pool), timeout=3.0, what="the worker to be recycled at the tick"
    )
    # ~1 s from the supervisor's start, plus the tick's own latency: well under 2.5 s.
    assert time.monotonic() - started < 2.5


@pytest.mark.slow
def test_ttl_counts_from_ready_so_a_slow_booting_worker_is_not_retired_as_it_arrives(pool_harness):
    """A worker mid-spawn is not supervised: ttl starts when it is ready to serve."""
    pool = pool_harness.pool(
        "fault_pid",
        num_workers=1,
        allocate_timeout="10s",
        server={"env": {"BOOT_DELAY": "1.0"}},
        supervisor={"watch_tick": "100ms", "ttl": "800ms"},
    )
    (first,) = pids(pool)
    assert wait_for(lambda: pids(pool) - {first}, timeout=5, what="the first worker to be recycled")
    (second,) = pids(pool)
    arrived = time.monotonic()
    # Spawned ~1.1 s ago (boot 1 s), ready just now: it must get its own 800 ms.
    assert int(pool.exec(Payload(b"0")).body) == second
    gevent.sleep(max(0.0, 0.5 - (time.monotonic() - arrived)))
    assert _status(pool, second) == "ready", "retired as soon as it arrived"


def test_listing_reports_memory_growth_at_once(pool_harness):
    """The listing reads RSS when asked: no tick to wait for."""
    pool = pool_harness.pool("fault_hog", num_workers=1)
    (before,) = pool.workers()
    assert pool.exec(Payload(b"64:0")).body  # the worker keeps 64 MiB more
    (after,) = pool.workers()
    assert after["pid"] == before["pid"]
    assert after["memory_bytes"] - before["memory_bytes"] >= 60 << 20, (before, after)
    assert after["memoryUsage"] == after["memory_bytes"]  # RoadRunner's name, same figure
