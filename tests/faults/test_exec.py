"""Exec path: relay breakage mid-request, kills during streams and under load.

Covered elsewhere: echo/empty/big payloads, soft errors, SIGKILL of an idle or a busy
worker, worker-requested stop, queue limits and allocate_timeout, max_jobs=1 under
concurrency (tests/core/test_pool.py), and stdout text mid-request
(test_junk_on_stdout_mid_request_is_named_and_worker_replaced).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time

import gevent
import pytest

from actors.errors import (
    PoolError,
    PoolStoppedError,
    WorkerCrashedError,
    WorkerProtocolError,
)
from relays import Payload
from tests.support.hub import wait_for
from tests.support.pools import pids
from tests.support.procs import alive


@pytest.mark.parametrize(
    ("mode", "error", "match"),
    [
        ("close", WorkerCrashedError, "EOF"),
        ("half", WorkerCrashedError, "EOF.*in the middle of a frame"),
    ],
)
def test_worker_that_breaks_its_relay_but_stays_alive_is_killed_and_replaced(
    pool_harness, mode, error, match
):
    pool = pool_harness.pool("fault_relay", num_workers=1)
    (pid,) = pids(pool)
    started = time.monotonic()
    with pytest.raises(error, match=match):
        pool.exec(Payload(mode.encode()))
    assert time.monotonic() - started < 5, "the request waited for the process to exit"
    assert wait_for(lambda: not alive(pid), timeout=5, what="the broken worker to exit")
    assert wait_for(lambda: len(pids(pool)) == 1 and pid not in pids(pool))
    assert int(pool.exec(Payload(b"pid")).body) in pids(pool)
    assert pool.queue == 0


def test_bad_crc_in_the_middle_of_a_stream_fails_the_stream_and_replaces_the_worker(pool_harness):
    pool = pool_harness.pool("fault_relay", num_workers=1)
    (pid,) = pids(pool)
    stream = pool.stream(Payload(b"badcrc"))
    assert next(stream).body == b"chunk-0"
    assert next(stream).body == b"chunk-1"
    started = time.monotonic()
    with pytest.raises(WorkerProtocolError, match="chunk-2"):  # the bad bytes, quoted
        next(stream)
    assert time.monotonic() - started < 5
    assert wait_for(lambda: not alive(pid), timeout=5)
    assert wait_for(lambda: len(pids(pool)) == 1 and pid not in pids(pool))
    assert int(pool.exec(Payload(b"pid")).body) in pids(pool)
    assert pool.queue == 0


def test_worker_killed_while_streaming_fails_the_stream_not_hangs(pool_harness):
    pool = pool_harness.pool("stream", num_workers=1)
    (pid,) = pids(pool)
    stream = pool.stream(Payload(b"1000", b'{"delay": 0.01}'))
    next(stream)
    next(stream)
    os.kill(pid, signal.SIGKILL)
    started = time.monotonic()
    with pytest.raises(WorkerCrashedError), gevent.Timeout(10):
        for _ in stream:
            pass
    assert time.monotonic() - started < 5
    assert wait_for(lambda: len(pids(pool)) == 1 and pid not in pids(pool))
    assert pool.queue == 0
    chunks = list(pool.stream(Payload(b"3")))
    assert [c.body for c in chunks] == [b"chunk-0", b"chunk-1", b"chunk-2", b"done"]


def test_all_workers_marked_errored_next_exec_succeeds_on_a_replacement(pool_harness):
    """RR's Test_Static_Pool_Handle_Dead: every idle worker's state set to errored."""
    from actors.worker import RetireReason

    pool = pool_harness.pool("fault_pid", num_workers=3)
    marked = {h.pid for h in pool.free.idle()}
    assert marked == pids(pool)
    for h in pool.free.idle():
        h.retire(RetireReason.BROKEN)  # the state changes; nobody tells the pool
    answer = int(pool.exec(Payload(b"0")).body)
    assert answer not in marked
    assert wait_for(
        lambda: not any(alive(p) for p in marked), timeout=10, what="the errored workers to exit"
    )
    assert wait_for(lambda: len(pids(pool)) == 3 and not pids(pool) & marked)


def test_all_workers_killed_at_once_the_next_exec_waits_for_a_replacement(pool_harness):
    pool = pool_harness.pool("fault_pid", num_workers=3)
    victims = pids(pool)
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    # As soon as the exits are noticed, not once the replacements are up.
    assert wait_for(lambda: not pids(pool) & victims, step=0.005)
    answers = [int(pool.exec(Payload(b"0")).body) for _ in range(6)]
    assert not set(answers) & victims
    assert wait_for(lambda: len(pids(pool)) == 3 and not pids(pool) & victims)


@pytest.mark.slow
def test_burst_of_kills_under_load_every_request_answered_or_clear_error(pool_harness):
    """free + busy == target: after kills during load the pool is whole again, all ready."""
    n = 4
    pool = pool_harness.pool("fault_pid", num_workers=n, allocate_timeout="10s")
    outcomes: list[str] = []
    stop = gevent.event.Event()

    def client() -> None:
        for _ in range(5000):  # bounded: a broken pool must not spin forever
            if stop.is_set():
                return
            try:
                pool.exec(Payload(b"0.02"))
                outcomes.append("ok")
            except WorkerCrashedError:
                outcomes.append("crashed")  # its worker was the one killed: a clear error
            except Exception as exc:  # anything else is a failure of the test
                outcomes.append(f"{type(exc).__name__}: {exc}")

    clients = [gevent.spawn(client) for _ in range(8)]
    killed = set()
    rnd = random.Random(1168)
    try:
        for _ in range(12):
            gevent.sleep(0.15)
            live = sorted(pids(pool))
            if live:
                victim = rnd.choice(live)
                killed.add(victim)
                with contextlib.suppress(ProcessLookupError):  # it may have just exited
                    os.kill(victim, signal.SIGKILL)
        gevent.sleep(0.5)
    finally:
        stop.set()
        gevent.joinall(clients, timeout=20)
    assert all(c.dead for c in clients), "a client is stuck in exec"
    bad = [o for o in outcomes if o not in ("ok", "crashed")]
    assert not bad, bad[:5]
    assert outcomes.count("ok") > 50
    assert wait_for(lambda: len(pids(pool)) == n and not pids(pool) & killed, timeout=15)
    gevent.sleep(0.3)
    workers = pool.workers()
    assert [w["statusStr"] for w in workers] == ["ready"] * n
    assert all(alive(w["pid"]) for w in workers)
    idle_ready = {w.pid for w in pool.free.idle() if w.state.label == "ready"}
    assert idle_ready == pids(pool), "the free list and the pool disagree"
    assert pool.queue == 0
    # n requests at once all run at the same time: no slot was lost.
    started = time.monotonic()
    jobs = [gevent.spawn(pool.exec, Payload(b"0.5")) for _ in range(n)]
    gevent.joinall(jobs, timeout=10, raise_error=True)
    assert {int(j.value.body) for j in jobs} == pids(pool)
    assert time.monotonic() - started < 1.4


def test_caller_killed_mid_exec_leaks_neither_worker_nor_queue_place(pool_harness):
    pool = pool_harness.pool("fault_pid", num_workers=1)
    (pid,) = pids(pool)
    g = gevent.spawn(pool.exec, Payload(b"1"))
    gevent.sleep(0.3)
    g.kill()  # the caller gave up (a cancelled greenlet) while the worker was busy
    assert pool.queue == 0
    # The interrupted worker may hold a stale answer: it is replaced, and the pool serves.
    answer = int(pool.exec(Payload(b"0")).body)
    assert answer != pid
    assert wait_for(lambda: not alive(pid), timeout=15)
    assert wait_for(lambda: pids(pool) == {answer})


def test_exec_during_and_after_destroy_from_many_greenlets(pool_harness):
    pool = pool_harness.pool("fault_pid", num_workers=1, destroy_timeout="5s")
    (pid,) = pids(pool)
    busy = gevent.spawn(pool.exec, Payload(b"0.5"))
    gevent.sleep(0.1)
    queued = [gevent.spawn(pool.exec, Payload(b"0")) for _ in range(20)]
    gevent.sleep(0.1)
    pool.destroy()
    late = [gevent.spawn(pool.exec, Payload(b"0")) for _ in range(20)]
    gevent.joinall([busy, *queued, *late], timeout=10)
    assert int(busy.get(timeout=0).body) == pid, "the in-flight request finished"
    for g in queued + late:
        assert g.dead, "an exec hangs after destroy"
        assert isinstance(g.exception, PoolStoppedError), repr(g.exception)
        assert isinstance(g.exception, PoolError)
    assert pool.workers() == []
    assert wait_for(lambda: not alive(pid), timeout=5)


def test_debug_mode_concurrent_requests_each_get_their_own_process(pool_harness):
    pool = pool_harness.pool("fault_pid", debug=True, num_workers=2)
    started = time.monotonic()
    jobs = [gevent.spawn(pool.exec, Payload(b"0.5")) for _ in range(4)]
    gevent.joinall(jobs, timeout=20, raise_error=True)
    elapsed = time.monotonic() - started
    seen = {int(j.value.body) for j in jobs}
    assert len(seen) == 4, "one process per request"
    assert elapsed < 1.9, f"the 4 requests did not run concurrently ({elapsed:.2f}s)"
    assert wait_for(
        lambda: not any(alive(p) for p in seen), timeout=10, what="the workers to be reaped"
    )
    assert pool.workers() == []
