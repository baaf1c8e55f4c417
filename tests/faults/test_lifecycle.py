"""Pool lifecycle: resets racing with kills, repeated resets, destroy, shutdown signals.

Covered elsewhere: reset with requests in flight (test_reset_while_execs_in_flight), a
reset whose new workers fail (test_reset_that_cannot_start_workers_reports_and_heals),
destroy_timeout then SIGKILL (test_slow_destroy_kills_in_time), exec after destroy from
one caller (test_exec_after_destroy_is_clear_error), SIGTERM drains and exits 0
(tests/core/test_server.py::test_sigterm_drains_and_exits_zero,
tests/http_plugin/test_shutdown.py), debug mode sequentially
(test_debug_mode_fresh_worker_per_request).
"""

from __future__ import annotations

import contextlib
import gc
import os
import random
import signal
import time

import gevent
import pytest

from actors.errors import AllocateError
from relays import Payload
from tests.support.hub import wait_for
from tests.support.pools import pids
from tests.support.procs import alive, children

SCRIPT = "fault_pid.py"


def _settled(pool, n: int) -> bool:
    """Exactly ``n`` workers, all ready and alive, and no other worker process of ours."""
    workers = pool.workers()
    mine = {w["pid"] for w in workers}
    return (
        len(workers) == n
        and all(w["statusStr"] == "ready" for w in workers)
        and all(alive(p) for p in mine)
        and children(script=SCRIPT) == mine
    )


def _assert_stays_settled(pool, n: int, seconds: float = 1.0) -> None:
    assert wait_for(
        lambda: _settled(pool, n),
        timeout=20,
        what=lambda: (
            f"the pool to settle at {n}: {pool.workers()}"
            f" processes {sorted(children(script=SCRIPT))}"
        ),
    )
    deadline = time.monotonic() + seconds  # no late joiner shows up afterwards
    while time.monotonic() < deadline:
        assert _settled(pool, n), f"{pool.workers()} processes {sorted(children(script=SCRIPT))}"
        gevent.sleep(0.1)


@pytest.mark.slow
def test_reset_racing_with_external_kills_ends_at_full_size(pool_harness):
    """RR #1168: workers killed from outside while a reset replaces them."""
    n = 3
    pool = pool_harness.pool(SCRIPT[:-3], num_workers=n, allocate_timeout="10s", reset_timeout="5s")
    rnd = random.Random(1168)
    for _ in range(6):
        resetter = gevent.spawn(pool.reset)
        for _ in range(4):  # old ones, new ones mid-spawn, new ones just added
            gevent.sleep(rnd.uniform(0.0, 0.06))
            live = sorted(children(script=SCRIPT))
            if live:
                os.kill(rnd.choice(live), signal.SIGKILL)
        # A new worker killed during its spawn fails this reset; the pool refills anyway.
        with contextlib.suppress(AllocateError):
            resetter.get(timeout=30)
    _assert_stays_settled(pool, n)
    answers = {int(pool.exec(Payload(b"0")).body) for _ in range(12)}
    assert answers <= pids(pool)


@pytest.mark.slow
def test_reset_while_a_replacement_is_mid_spawn_leaves_no_extra_worker(pool_harness):
    """A killed worker's replacement is booting when the reset starts."""
    n = 2
    pool = pool_harness.pool(
        SCRIPT[:-3],
        num_workers=n,
        server={"env": {"BOOT_DELAY": "0.3"}},
    )
    for _ in range(3):
        os.kill(next(iter(pids(pool))), signal.SIGKILL)
        gevent.sleep(0.15)  # the replacement is spawned and sleeping in its boot
        pool.reset()
    _assert_stays_settled(pool, n)


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _greenlets() -> int:
    import greenlet

    return sum(1 for o in gc.get_objects() if isinstance(o, greenlet.greenlet) and not o.dead)


@pytest.mark.slow
def test_repeated_resets_under_load_leak_nothing(pool_harness):
    n = 2
    pool = pool_harness.pool(SCRIPT[:-3], num_workers=n, allocate_timeout="20s")
    pool.reset()
    gevent.sleep(0.3)
    gc.collect()
    fds, greenlets = _fds(), _greenlets()
    failures: list[str] = []
    stop = gevent.event.Event()

    def client() -> None:
        for _ in range(20000):  # bounded: a broken pool must not spin forever
            if stop.is_set():
                return
            try:
                pool.exec(Payload(b"0.01"))
            except Exception as exc:
                failures.append(f"{type(exc).__name__}: {exc}")

    clients = [gevent.spawn(client) for _ in range(4)]
    try:
        for _ in range(25):
            pool.reset()
    finally:
        stop.set()
        gevent.joinall(clients, timeout=20)
    assert all(c.dead for c in clients)
    assert not failures, failures[:5]  # requests wait for a reset, they never fail
    _assert_stays_settled(pool, n, seconds=0.3)
    gevent.sleep(0.3)
    gc.collect()
    assert _fds() <= fds + 2, f"fds: {fds} before, {_fds()} after 25 resets"
    assert _greenlets() <= greenlets + 5, f"greenlets: {greenlets} before, {_greenlets()} after"
