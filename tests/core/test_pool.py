"""Pool scenarios ported from roadrunner-server/pool, on pipes, tcp and unix relays."""

from __future__ import annotations

import dataclasses
import os
import signal
import time

import gevent
import pytest

from actors.errors import (
    AllocateError,
    NoFreeWorkersError,
    PoolError,
    PoolStoppedError,
    QueueFullError,
    WorkerCrashedError,
    WorkerError,
)
from relays import Payload
from tests.support.hub import wait_for
from tests.support.pools import pids
from tests.support.procs import alive


def test_echo_with_context(pool_harness):
    pool = pool_harness.pool("echo")
    out = pool.exec(Payload(body=b"hello", context=b'{"k":"v"}'))
    assert out.body == b"hello"
    assert out.context == b'{"k":"v"}'
    empty_ctx = pool.exec(Payload(body=b"x"))
    assert (empty_ctx.body, empty_ctx.context) == (b"x", b"")


def test_big_payload_both_ways(pool_harness):
    pool = pool_harness.pool("echo", num_workers=1)
    body = os.urandom(8 << 20)
    assert pool.exec(Payload(body=body, context=b"c")).body == body


def test_empty_payload_is_refused(pipes_pool_harness):
    pool = pipes_pool_harness.pool("echo", num_workers=1)
    with pytest.raises(PoolError, match="payload can not be empty"):
        pool.exec(Payload())


def test_workers_listing(pool_harness):
    pool = pool_harness.pool("echo", num_workers=2)
    pool.exec(Payload(b"x"))
    workers = pool.workers()
    assert len(workers) == 2
    for w in workers:
        assert w["status"] == 1 and w["statusStr"] == "ready"
        assert w["memory_bytes"] > 0 and w["created_at"] > 0
        assert alive(w["pid"])
    assert sum(w["num_execs"] for w in workers) == 1


def test_soft_error_keeps_worker(pool_harness):
    pool = pool_harness.pool("error", num_workers=1)
    before = pids(pool)
    with pytest.raises(WorkerError, match="SoftJobError: boom from python: abc"):
        pool.exec(Payload(b"abc"))
    with pytest.raises(WorkerError):
        pool.exec(Payload(b"again"))
    assert pids(pool) == before


def test_killed_idle_worker_is_replaced(pool_harness):
    pool = pool_harness.pool("pid", num_workers=2)
    victim = next(iter(pids(pool)))
    os.kill(victim, signal.SIGKILL)
    assert wait_for(lambda: len(pids(pool)) == 2 and victim not in pids(pool))
    for _ in range(10):
        assert int(pool.exec(Payload(b"x")).body) in pids(pool)


def test_killed_busy_worker_fails_request_and_is_replaced(pool_harness):
    pool = pool_harness.pool("sleep", num_workers=1)
    (victim,) = pids(pool)
    g = gevent.spawn(pool.exec, Payload(b"5"))
    gevent.sleep(0.5)
    os.kill(victim, signal.SIGKILL)
    with pytest.raises(WorkerCrashedError, match="EOF"):
        g.get(timeout=5)
    assert wait_for(lambda: len(pids(pool)) == 1 and victim not in pids(pool))
    assert pool.exec(Payload(b"0")).body == b"slept"


def test_crash_on_request_then_next_succeeds(pool_harness):
    pool = pool_harness.pool("crash", num_workers=1)
    with pytest.raises(WorkerCrashedError):
        pool.exec(Payload(b"x"))
    assert wait_for(lambda: len(pids(pool)) == 1)


def _status(pool, pid: int) -> str | None:
    return next((w["statusStr"] for w in pool.workers() if w["pid"] == pid), None)


def test_allocate_timeout_no_free_workers(pool_harness):
    # allocate_timeout also bounds a worker's boot, and on a loaded machine Python can take
    # longer than 500 ms to start: boot with a generous budget, wait for the pool to be up,
    # then measure the wait for a free worker with 500 ms.
    pool = pool_harness.pool("sleep", num_workers=1, allocate_timeout="20s")
    pool.cfg = dataclasses.replace(pool.cfg, allocate_timeout=0.5)
    (pid,) = pids(pool)
    busy = gevent.spawn(pool.exec, Payload(b"3"))
    assert wait_for(lambda: _status(pool, pid) == "working", timeout=2)
    started = time.monotonic()
    with pytest.raises(NoFreeWorkersError, match="NoFreeWorkers"):
        pool.exec(Payload(b"0"))
    waited = time.monotonic() - started
    assert 0.45 <= waited < 2.5, f"waited {waited:.2f}s for allocate_timeout=500ms"
    assert not busy.ready(), "the only worker was free: the test measured nothing"
    assert busy.get(timeout=10).body == b"slept"


def test_queue_size_limit(pool_harness):
    pool = pool_harness.pool("sleep", num_workers=1, max_queue_size=1)
    busy = gevent.spawn(pool.exec, Payload(b"1"))
    gevent.sleep(0.2)
    with pytest.raises(QueueFullError, match="max queue size reached"):
        pool.exec(Payload(b"0"))
    assert busy.get(timeout=5).body == b"slept"
    assert pool.exec(Payload(b"0")).body == b"slept"


def test_max_jobs_one_under_concurrency(pool_harness):
    pool = pool_harness.pool("pid", num_workers=2, max_jobs=1)
    jobs = [gevent.spawn(pool.exec, Payload(b"x")) for _ in range(16)]
    gevent.joinall(jobs, timeout=60)
    results = [int(j.get().body) for j in jobs]
    assert len(results) == 16
    assert len(set(results)) == 16, "max_jobs=1: every request on a fresh worker"


def test_worker_requested_stop_retries_request(pool_harness, tmp_path):
    flag = tmp_path / "stopped-once"
    pool = pool_harness.pool(
        "stopper", num_workers=1, server={"env": {"STOP_ONCE_FILE": str(flag)}}
    )
    (first,) = pids(pool)
    out = pool.exec(Payload(b"payload", b"ctx"))
    assert (out.body, out.context) == (b"payload", b"ctx")
    assert flag.exists()
    assert wait_for(lambda: len(pids(pool)) == 1 and first not in pids(pool))


def test_worker_that_always_asks_to_stop_fails_clearly(pipes_pool_harness):
    pool = pipes_pool_harness.pool("stopper", num_workers=1)
    with pytest.raises(WorkerError, match="asked to stop instead of answering"):
        pool.exec(Payload(b"x"))


def test_slow_destroy_kills_in_time(pool_harness):
    pool = pool_harness.pool("slow_destroy", num_workers=2, destroy_timeout="1s")
    victims = pids(pool)
    t0 = time.monotonic()
    pool.destroy()
    assert time.monotonic() - t0 < 8
    assert wait_for(lambda: not any(alive(p) for p in victims), timeout=5)


def test_exec_after_destroy_is_clear_error(pool_harness):
    pool = pool_harness.pool("echo", num_workers=1)
    pool.destroy()
    with pytest.raises(PoolStoppedError, match="destroyed"):
        pool.exec(Payload(b"x"))


def test_destroy_waits_for_inflight(pool_harness):
    pool = pool_harness.pool("sleep", num_workers=1, destroy_timeout="10s")
    g = gevent.spawn(pool.exec, Payload(b"1"))
    gevent.sleep(0.3)
    pool.destroy()
    assert g.get(timeout=1).body == b"slept"


def test_reset_while_execs_in_flight(pool_harness):
    pool = pool_harness.pool("sleep", num_workers=2)
    before = pids(pool)
    inflight = [gevent.spawn(pool.exec, Payload(b"1")) for _ in range(2)]
    gevent.sleep(0.2)
    resetter = gevent.spawn(pool.reset)
    gevent.sleep(0.1)
    queued = gevent.spawn(pool.exec, Payload(b"0"))  # waits for the reset, never fails
    resetter.get(timeout=30)
    assert [g.get(timeout=5).body for g in inflight] == [b"slept", b"slept"]
    assert queued.get(timeout=10).body == b"slept"
    after = pids(pool)
    assert len(after) == 2 and not (after & before)


def test_debug_mode_fresh_worker_per_request(pool_harness):
    pool = pool_harness.pool("pid", debug=True)
    assert pool.workers() == []
    seen = {int(pool.exec(Payload(b"x")).body) for _ in range(3)}
    assert len(seen) == 3
    assert wait_for(lambda: not any(alive(p) for p in seen), timeout=10)


def test_stream_response_chunks(pool_harness):
    pool = pool_harness.pool("stream", num_workers=1)
    chunks = list(pool.stream(Payload(b"20")))
    assert [c.body for c in chunks] == [f"chunk-{i}".encode() for i in range(20)] + [b"done"]
    assert [c.end_of_stream for c in chunks] == [False] * 20 + [True]
    assert chunks[0].context == b"HDR"
    # the pool answered the worker's PINGs (otherwise it hangs); exec joins the chunks
    joined = pool.exec(Payload(b"3"))
    assert (joined.body, joined.context) == (b"chunk-0chunk-1chunk-2done", b"HDR")


def test_answer_returns_a_whole_answer_as_is_and_a_stream_as_a_stream(pool_harness):
    from actors.pool import ResponseStream

    pool = pool_harness.pool("stream", num_workers=1)
    whole = pool.answer(Payload(b"0"))
    # No stream object: the worker is back on the shelf and the request left the queue.
    assert type(whole) is Payload
    assert (whole.body, whole.context, whole.end_of_stream) == (b"done", b"", True)
    assert (len(pool.free), pool.queue) == (1, 0)
    stream = pool.answer(Payload(b"2"))
    assert isinstance(stream, ResponseStream)
    assert pool.queue == 1 and len(pool.free) == 0  # the worker stays with the stream
    assert [c.body for c in stream] == [b"chunk-0", b"chunk-1", b"done"]
    assert (len(pool.free), pool.queue) == (1, 0)


def test_stream_cancel_releases_worker(pool_harness):
    pool = pool_harness.pool("stream", num_workers=1)
    (pid,) = pids(pool)
    stream = pool.stream(Payload(b"1000"))
    next(stream)
    next(stream)
    stream.cancel()
    # Same worker, and nothing of the cancelled stream leaks into the next answer.
    assert pool.exec(Payload(b"2")).body == b"chunk-0chunk-1done"
    assert pids(pool) == {pid}


def test_env_reaches_worker(pool_harness):
    import json

    pool = pool_harness.pool(
        "env",
        num_workers=1,
        env={"RR_MODE": "http"},
        server={"env": {"app_secret": "s3cret", "RR_MODE": "user"}},
    )
    env = json.loads(pool.exec(Payload(b"x")).body)
    assert env["APP_SECRET"] == "s3cret"
    assert env["RR_MODE"] == "http"  # the plugin's wins
    assert env["RR_RELAY"] == pool_harness.systems[0].config.server.relay
    assert env["RR_VERSION"]


def test_junk_stdout_at_boot_is_named(pipes_pool_harness):
    with pytest.raises(AllocateError) as info:
        pipes_pool_harness.pool("junk_stdout", num_workers=1)
    msg = str(info.value)
    assert "stdout" in msg and "hello from the junk worker" in msg


def test_failboot_reports_exit_and_stderr(pool_harness):
    with pytest.raises(AllocateError) as info:
        pool_harness.pool("failboot", num_workers=1)
    msg = str(info.value)
    assert "exited with status 1" in msg
    assert "failboot: this worker is broken on purpose" in msg


def test_missing_command_is_named(pipes_pool_harness):
    system = pipes_pool_harness.system("echo")
    with pytest.raises(AllocateError, match=r'"/nonexistent/worker-binary"'):
        system.new_pool("p", {"num_workers": 1, "command": "/nonexistent/worker-binary x"})
    with pytest.raises(AllocateError, match=r'"no-such-binary-xyz": executable file not found'):
        system.new_pool("q", {"num_workers": 1, "command": "no-such-binary-xyz"})


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.slow
def test_no_fd_or_process_leak_under_worker_churn(pool_harness):
    pool = pool_harness.pool("pid", num_workers=2, max_jobs=1)
    pool.exec(Payload(b"warm"))
    gevent.sleep(0.5)
    before = _open_fds()
    seen = {int(pool.exec(Payload(b"x")).body) for _ in range(20)}
    assert len(seen) == 20
    assert wait_for(lambda: len(pids(pool)) == 2)
    gevent.sleep(0.5)
    # every replaced worker's pipes, sockets and watchers are gone
    assert _open_fds() <= before + 1
    assert wait_for(lambda: not any(alive(p) for p in seen - pids(pool)), timeout=10)


def test_pool_heals_after_replacements_kept_failing(pool_harness, tmp_path):
    flag = tmp_path / "fail"
    pool = pool_harness.pool(
        "flaky_boot",
        num_workers=1,
        allocate_timeout="1s",
        server={"env": {"FAIL_FLAG": str(flag)}},
    )
    (pid,) = pids(pool)
    flag.touch()
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not pids(pool))
    with pytest.raises(NoFreeWorkersError):  # a clear error, not a hang
        pool.exec(Payload(b"x"))
    gevent.sleep(1.5)  # a few failed replacement attempts
    flag.unlink()
    assert wait_for(lambda: len(pids(pool)) == 1, timeout=15)
    assert int(pool.exec(Payload(b"x")).body) in pids(pool)


def test_junk_on_stdout_mid_request_is_named_and_worker_replaced(pipes_pool_harness, tmp_path):
    from actors.errors import WorkerProtocolError

    once = str(tmp_path / "junked")
    pool = pipes_pool_harness.pool(
        "junk_midrequest", num_workers=1, server={"env": {"JUNK_ONCE_FILE": once}}
    )
    (pid,) = pids(pool)
    with pytest.raises(WorkerProtocolError) as info:
        pool.exec(Payload(b"x"))
    msg = str(info.value)
    assert "stdout" in msg and "something printed in the middle of a request" in msg
    assert wait_for(lambda: len(pids(pool)) == 1 and pid not in pids(pool))
    assert int(pool.exec(Payload(b"x")).body) in pids(pool)


def test_reset_that_cannot_start_workers_reports_and_heals(pool_harness, tmp_path):
    flag = tmp_path / "fail"
    pool = pool_harness.pool(
        "flaky_boot",
        num_workers=2,
        allocate_timeout="2s",
        server={"env": {"FAIL_FLAG": str(flag)}},
    )
    flag.touch()  # the "deploy" is broken: new workers die at boot
    with pytest.raises(AllocateError, match="exited with status 1"):
        pool.reset()
    flag.unlink()  # fixed: the pool refills by itself, no second reset needed
    assert wait_for(lambda: len(pids(pool)) == 2, timeout=15)
    assert int(pool.exec(Payload(b"x")).body) in pids(pool)


@pytest.mark.parametrize("relay_kind", ["pipes", "unix"])
def test_request_to_a_worker_that_just_died_is_rerun_elsewhere(relay_kind, tmp_path):
    from tests.support.pools import PoolHarness

    harness = PoolHarness(relay_kind, tmp_path)
    try:
        pool = harness.pool("pid", num_workers=1)
        (pid,) = pids(pool)
        os.kill(pid, signal.SIGKILL)
        # Block the hub (time.sleep, not gevent.sleep) until the process is dead, so the
        # pool cannot have noticed yet: the dead worker is still first in the free list.
        deadline = time.monotonic() + 5
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not alive(pid)
        # The request never reached the dead worker (the send fails), so it runs on the
        # replacement instead of failing.
        assert int(pool.exec(Payload(b"x")).body) != pid
    finally:
        harness.close()
