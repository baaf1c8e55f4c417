"""An empty pool whose workers cannot start fails requests at once, then heals.

Requests used to wait the full allocate_timeout (60 s by default) for a worker that a
failing respawn would not bring; the HTTP plugin answers NoFreeWorkersError with 503 and
Retry-After, so failing fast with the reason is what a client and a balancer need.
"""

from __future__ import annotations

import os
import signal
import time

import gevent
import pytest

from actors.errors import NoFreeWorkersError
from relays import Payload
from tests.support.hub import wait_for
from tests.support.pools import pids

ALLOCATE_TIMEOUT = 10.0


def test_requests_fail_fast_while_no_worker_can_start(pool_harness, short_tmp):
    flag = short_tmp / "fail"
    pool = pool_harness.pool(
        "flaky_boot",
        num_workers=2,
        allocate_timeout=f"{ALLOCATE_TIMEOUT:g}s",
        server={"env": {"FAIL_FLAG": str(flag)}},
    )
    flag.touch()
    for pid in pids(pool):
        os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not pids(pool))
    # The first one may wait for the first respawn attempt to fail; none waits longer.
    for _ in range(3):
        started = time.monotonic()
        with pytest.raises(NoFreeWorkersError) as info:
            pool.exec(Payload(b"x"))
        elapsed = time.monotonic() - started
        assert elapsed < ALLOCATE_TIMEOUT / 2, f"a request waited {elapsed:.1f}s"
        msg = str(info.value)
        assert "no worker can start" in msg and "flaky_boot" in msg, msg
        assert "retrying in" in msg, msg
    # Heals once the cause is gone.
    flag.unlink()
    assert wait_for(lambda: len(pids(pool)) == 2, timeout=20)
    assert int(pool.exec(Payload(b"x")).body) in pids(pool)


def test_waiting_requests_fail_when_the_respawn_fails(pipes_pool_harness, short_tmp):
    """Requests parked on the empty pool (the first respawn still booting) are failed by
    its failure, not left waiting for allocate_timeout."""
    flag = short_tmp / "fail"
    pool = pipes_pool_harness.pool(
        "flaky_boot",
        num_workers=1,
        allocate_timeout=f"{ALLOCATE_TIMEOUT:g}s",
        server={"env": {"FAIL_FLAG": str(flag)}},
    )
    flag.touch()
    (pid,) = pids(pool)
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not pids(pool))
    started = time.monotonic()
    jobs = [gevent.spawn(pool.exec, Payload(b"x")) for _ in range(4)]
    gevent.joinall(jobs, timeout=ALLOCATE_TIMEOUT)
    assert all(j.ready() for j in jobs)
    assert all(isinstance(j.exception, NoFreeWorkersError) for j in jobs), [
        j.exception for j in jobs
    ]
    assert time.monotonic() - started < ALLOCATE_TIMEOUT / 2


def test_requests_wait_while_a_worker_is_alive(pipes_pool_harness, short_tmp):
    """One worker failing to be replaced does not fail requests the others can serve."""
    flag = short_tmp / "fail"
    pool = pipes_pool_harness.pool(
        "flaky_boot",
        num_workers=2,
        allocate_timeout=f"{ALLOCATE_TIMEOUT:g}s",
        server={"env": {"FAIL_FLAG": str(flag)}},
    )
    flag.touch()
    first, second = sorted(pids(pool))
    os.kill(first, signal.SIGKILL)
    assert wait_for(lambda: pids(pool) == {second})
    gevent.sleep(1.5)  # at least one failed respawn
    for _ in range(5):
        assert int(pool.exec(Payload(b"x")).body) == second
    flag.unlink()
    assert wait_for(lambda: len(pids(pool)) == 2, timeout=20)
