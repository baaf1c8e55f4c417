"""Boot / spawn: what the existing suites did not exercise.

Covered elsewhere: a missing command (tests/core/test_pool.py::test_missing_command_is_named,
tests/core/test_server.py::test_cli_missing_worker_command_is_named), a worker dying at
import (test_failboot_reports_exit_and_stderr), stdout garbage before the handshake
(test_junk_stdout_at_boot_is_named), a tcp worker that never connects
(test_worker_that_never_connects_times_out), on_init success/failure/exit_on_error/timeout,
unknown user/group, uid/gid as root, env.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import sys
import textwrap
import time
from pathlib import Path

import gevent
import gevent.os
import pytest

from actors.errors import AllocateError, NoFreeWorkersError
from actors.system import ActorSystem
from relays import Payload
from tests.support.hub import wait_for
from tests.support.pools import pids
from tests.support.procs import children

# -- the command -----------------------------------------------------------------------


def test_command_that_is_not_executable_is_named(pipes_pool_harness, short_tmp):
    script = short_tmp / "worker.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(stat.S_IRUSR | stat.S_IWUSR)  # no x bit: even root cannot exec it
    system = pipes_pool_harness.system("echo")
    started = time.monotonic()
    with pytest.raises(AllocateError) as info:
        system.new_pool("p", {"num_workers": 2, "command": str(script)})
    msg = str(info.value)
    assert str(script) in msg and "permission denied" in msg, msg
    assert time.monotonic() - started < 5, "no retry loop at startup"


# -- the handshake ---------------------------------------------------------------------


def test_worker_that_never_answers_the_handshake_is_bounded_and_killed(pool_harness):
    """Pipes: never reads the pid request.  tcp/unix: connects, then never answers."""
    before = children(script="fault_hang_handshake.py")
    started = time.monotonic()
    with pytest.raises(AllocateError) as info:
        pool_harness.pool(
            "fault_hang_handshake",
            num_workers=1,
            allocate_timeout="1s",
            server={"relay_timeout": "1s"},
        )
    elapsed = time.monotonic() - started
    assert elapsed < 6, f"the spawn was not bounded: {elapsed:.1f}s"
    assert "within" in str(info.value), str(info.value)
    # The hung process was killed and reaped, not left behind.
    assert wait_for(
        lambda: children(script="fault_hang_handshake.py") == before,
        timeout=5,
        what="the hung worker to be reaped after its failed spawn",
    )


# -- concurrency -----------------------------------------------------------------------


def test_workers_are_spawned_concurrently(pool_harness, short_tmp):
    """Each worker sleeps 2 s before its handshake. Spawned one after the other, the eighth
    would start at least 14 s after the first; spawned together, every one starts before the
    first has finished its delay (the start times come from the workers themselves, so a
    slow machine only widens the spread a little, it does not fail the test)."""
    attempts = short_tmp / "attempts"
    env = {"BOOT_DELAY": "2", "ATTEMPTS_FILE": str(attempts)}
    pool = pool_harness.pool(
        "fault_pid", num_workers=8, allocate_timeout="60s", server={"env": env}
    )
    assert len(pids(pool)) == 8
    starts = _attempts(attempts)
    assert len(starts) == 8
    spread = max(starts) - min(starts)
    assert spread < 2.0, f"worker starts spread over {spread:.2f}s: spawned one by one"


# -- retries ---------------------------------------------------------------------------


def _attempts(path: Path) -> list[float]:
    try:
        return [float(line.split()[1]) for line in path.read_text().splitlines()]
    except FileNotFoundError:
        return []


@pytest.mark.slow
def test_failed_replacement_is_retried_about_every_second_and_the_waiting_request_served(
    pool_harness, short_tmp
):
    """RR's Test_SupervisedPool_AllocateFailedOK: spawn fails for a while, then works."""
    flag, attempts = short_tmp / "fail", short_tmp / "attempts"
    pool = pool_harness.pool(
        "fault_pid",
        num_workers=1,
        allocate_timeout="10s",
        server={"env": {"FAIL_FLAG": str(flag), "ATTEMPTS_FILE": str(attempts)}},
    )
    (pid,) = pids(pool)
    flag.touch()  # from now on every new worker dies at boot
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not pids(pool))
    # An empty pool that cannot start a worker fails requests at once (503 over HTTP)
    # instead of holding them for allocate_timeout (tests/faults/test_empty_pool.py).
    waiting = gevent.spawn(pool.exec, Payload(b"0"))
    gevent.sleep(3.2)
    failing = _attempts(attempts)[1:]  # the first line is the worker that was killed
    assert 2 <= len(failing) <= 6, (
        f"{len(failing)} spawn attempts in ~3 s: expected a retry about every second"
    )
    assert isinstance(waiting.exception, NoFreeWorkersError), waiting.exception
    flag.unlink()  # the cause is gone: the next retry succeeds
    assert wait_for(lambda: len(pids(pool)) == 1, timeout=6)
    new_pid = int(pool.exec(Payload(b"0")).body)
    assert pids(pool) == {new_pid} and new_pid != pid


def test_boot_failure_loop_keeps_answering_no_free_workers_without_spinning(
    pool_harness, short_tmp
):
    flag, attempts = short_tmp / "fail", short_tmp / "attempts"
    # A generous boot budget (a loaded machine may take seconds to start Python): requests
    # no longer wait allocate_timeout once the pool is empty and cannot refill.
    pool = pool_harness.pool(
        "fault_pid",
        num_workers=2,
        allocate_timeout="10s",
        server={"env": {"FAIL_FLAG": str(flag), "ATTEMPTS_FILE": str(attempts)}},
    )
    flag.touch()
    for pid in pids(pool):
        os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not pids(pool))
    t0 = time.monotonic()
    while time.monotonic() - t0 < 3:
        with pytest.raises(NoFreeWorkersError):
            pool.exec(Payload(b"0"))
        gevent.sleep(0.02)  # it fails at once now: do not spin a core for 3 s
    # Two slots retrying with backoff (1 s, then doubling past allocate_timeout).
    failing = len(_attempts(attempts)) - 2
    assert failing <= 10, f"{failing} spawn attempts in ~3 s for 2 workers: a spin loop"
    flag.unlink()
    assert wait_for(lambda: len(pids(pool)) == 2, timeout=20)


@pytest.mark.slow
def test_crash_loop_after_the_handshake_is_backed_off(pipes_pool_harness, short_tmp):
    crash, attempts = short_tmp / "crash", short_tmp / "attempts"
    pool = pipes_pool_harness.pool(
        "fault_pid",
        num_workers=2,
        allocate_timeout="1s",
        server={"env": {"CRASH_FLAG": str(crash), "ATTEMPTS_FILE": str(attempts)}},
    )
    crash.touch()  # every new worker boots, answers the handshake, then dies
    for pid in pids(pool):
        os.kill(pid, signal.SIGKILL)
    gevent.sleep(3)
    restarts = len(_attempts(attempts)) - 2
    crash.unlink()
    assert wait_for(lambda: len(pids(pool)) == 2, timeout=40)
    assert restarts <= 12, f"{restarts} restarts in 3 s for 2 workers: no backoff"


# -- on_init -----------------------------------------------------------------------------


def test_on_init_completes_before_the_first_worker_is_spawned(short_tmp):
    """The http plugin's workers start in ActorSystem.start(), right after on_init."""
    marker = short_tmp / "init-done"
    probe = short_tmp / "probe.py"
    probe.write_text(
        textwrap.dedent(
            f"""
            import os, sys
            sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
            with open({str(short_tmp / "seen")!r}, "a") as f:
                f.write(("yes" if os.path.exists({str(marker)!r}) else "no") + "\\n")
            from relays.http import HttpWorker
            w = HttpWorker()
            while (r := w.wait_request()) is not None:
                w.respond(200, "ok")
            """
        )
    )
    init = f"import time; time.sleep(0.5); open({str(marker)!r}, 'a').write('x')"
    system = ActorSystem.from_dict(
        {
            "server": {
                "command": [sys.executable, str(probe)],
                "on_init": {"command": [sys.executable, "-c", init]},
            },
            "http": {"address": "127.0.0.1:0", "pool": {"num_workers": 3}},
            "logs": {"level": "error"},
        }
    )
    system.start()
    try:
        assert (short_tmp / "seen").read_text().split() == ["yes"] * 3
        assert marker.read_text() == "x", "on_init ran more than once"
    finally:
        system.stop(timeout=5)


@pytest.mark.skipif(os.geteuid() != 0, reason="switching user needs root")
def test_on_init_runs_as_its_user_with_its_env(short_tmp):
    import pwd

    nobody = pwd.getpwnam("nobody")
    short_tmp.chmod(0o777)
    out = short_tmp / "who"
    code = f"import os; open({str(out)!r}, 'w').write(f'{{os.getuid()}} {{os.environ[\"WHO\"]}}')"
    system = ActorSystem.from_dict(
        {
            "server": {
                "command": [sys.executable, "-c", "pass"],
                "on_init": {
                    "command": ["/usr/bin/python3", "-c", code],
                    "user": "nobody",
                    "env": {"who": "init"},
                    "exit_on_error": True,
                },
            },
            "logs": {"level": "error"},
        }
    )
    system.start()
    system.stop(timeout=3)
    assert out.read_text() == f"{nobody.pw_uid} init"


def test_user_set_without_root_is_a_clear_startup_error():
    """Run ActorSystem.start() in a forked child that dropped root (or is not root)."""
    import pwd

    from actors.system import StartupError

    target = "root"
    config = {"server": {"command": "php w.php", "user": target}, "logs": {"mode": "off"}}
    if os.geteuid() == 0:
        # The same start as root first: it succeeds, and imports every lazily imported
        # module, which the child could not read as nobody (the interpreter is under /root).
        ActorSystem.from_dict(config).start().stop()
    rfd, wfd = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            os.close(rfd)
            if os.geteuid() == 0:
                nobody = pwd.getpwnam("nobody")
                os.setgroups([])
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
            s = ActorSystem.from_dict(config)
            try:
                s.start()
                msg = "started"
            except StartupError as exc:
                msg = "StartupError: " + str(exc)
            os.write(wfd, msg.encode())
        except BaseException as exc:
            os.write(wfd, f"child failed: {exc!r}".encode())
        finally:
            os._exit(0)
    os.close(wfd)
    gevent.os.make_nonblocking(rfd)
    data = b""
    try:
        with gevent.Timeout(20, AssertionError("the forked child hangs")):
            while chunk := gevent.os.nb_read(rfd, 65536):
                data += chunk
    finally:
        os.close(rfd)
        # gevent's child watcher may have reaped it already (it reaps every child).
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(child, os.WNOHANG) == (0, 0):
                os.kill(child, signal.SIGKILL)
                os.waitpid(child, 0)
    msg = data.decode()
    assert msg.startswith("StartupError:"), msg
    assert "switching user needs root" in msg and "server.user" in msg, msg
