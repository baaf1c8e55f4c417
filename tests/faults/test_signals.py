"""SIGTERM/SIGINT to the server process: the second signal forces, and leaves no worker.

The first SIGTERM drains (tests/core/test_server.py::test_sigterm_drains_and_exits_zero,
tests/http_plugin/test_shutdown.py); here the drain is cut short by a second signal, and no
worker process, busy or idle, may outlive the server.
"""

from __future__ import annotations

import http.client
import signal
import sys
import textwrap
import time

import gevent
import gevent.subprocess
import pytest

from tests.support.http_client import address_from_log
from tests.support.hub import spawn_call, wait_for
from tests.support.procs import alive, children, kill_all
from tests.support.workers import REPO, WORKERS

WORKER = WORKERS / "http_app.py"


def _get(addr: tuple[str, int], path: str) -> int | str:
    conn = http.client.HTTPConnection(*addr, timeout=30)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except (OSError, http.client.HTTPException) as exc:
        return type(exc).__name__
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("first", "second"),
    [(signal.SIGTERM, signal.SIGINT), (signal.SIGINT, signal.SIGINT)],
    ids=["term-int", "int-int"],
)
def test_second_signal_exits_at_once_and_leaves_no_worker(short_tmp, first, second):
    config = short_tmp / "rr.yaml"
    config.write_text(
        textwrap.dedent(
            f"""
            version: "3"
            server:
              command: "{sys.executable} {WORKER}"
            http:
              address: 127.0.0.1:0
              pool:
                num_workers: 2
                destroy_timeout: 60s
            logs:
              level: info
              mode: production
            """
        )
    )
    log = short_tmp / "server.log"
    with open(log, "wb") as out:
        proc = gevent.subprocess.Popen(
            [sys.executable, "-m", "actors.main", "serve", "-c", str(config)],
            cwd=REPO,
            stdin=gevent.subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )
    workers: set[int] = set()
    try:
        addr = wait_for(lambda: address_from_log(log), timeout=30, what="the server to listen")
        workers = wait_for(
            lambda: (
                len(children(proc.pid, "http_app.py")) == 2 and children(proc.pid, "http_app.py")
            ),
            timeout=30,
            what="the workers",
        )
        busy = spawn_call(_get, addr, "/sleep?s=30")  # holds a worker for 30 s
        gevent.sleep(0.5)
        proc.send_signal(first)
        gevent.sleep(0.5)
        assert proc.poll() is None, "the first signal should drain (destroy_timeout 60 s)"
        started = time.monotonic()
        proc.send_signal(second)
        proc.wait(timeout=10)
        assert time.monotonic() - started < 3, "the second signal did not force the exit"
        assert busy.get(timeout=10) != 200  # cut short, not answered
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and any(alive(p) for p in workers):
            gevent.sleep(0.05)
        left = [p for p in workers if alive(p)]
        assert not left, f"worker processes outlived the forced exit: {left}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        kill_all([p for p in workers if alive(p)])
    assert "second signal" in log.read_text()
