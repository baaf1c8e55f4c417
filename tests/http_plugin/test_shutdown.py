"""Graceful shutdown of ``python -m actors.main`` under load: SIGTERM finishes in-flight work.

The server runs as a real process (signals, exit status and child processes are process-wide
matters); it is started with ``gevent.subprocess`` so that its exit status is collected by the
same child watcher as everything else in this test process.
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

from tests.support.http_client import TIMEOUT, address_from_log
from tests.support.hub import spawn_call, wait_for
from tests.support.procs import alive, children, kill_all
from tests.support.workers import REPO, WORKERS

NUM_WORKERS = 5
REQUESTS = 10


def _slow_request(addr: tuple[str, int], seconds: float, sent: list[int]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(*addr, timeout=TIMEOUT)
    try:
        conn.request("GET", f"/sleep?s={seconds}")
        sent.append(1)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@pytest.mark.slow
def test_sigterm_under_load_finishes_in_flight_requests(short_tmp):
    config = short_tmp / "rr.yaml"
    config.write_text(
        textwrap.dedent(
            f"""
            version: "3"
            server:
              command: "{sys.executable} {WORKERS / "http_app.py"}"
            http:
              address: 127.0.0.1:0
              pool:
                num_workers: {NUM_WORKERS}
                allocate_timeout: 20s
                destroy_timeout: 15s
            logs:
              level: info
              mode: production
            """
        )
    )
    log = short_tmp / "server.log"
    pool = gevent.get_hub().threadpool
    old_maxsize = pool.maxsize
    pool.maxsize = max(old_maxsize, REQUESTS + 4)
    workers: set[int] = set()
    survivors: list[int] = []
    with open(log, "wb") as err:
        proc = gevent.subprocess.Popen(
            [sys.executable, "-m", "actors.main", "serve", "-c", str(config)],
            cwd=REPO,
            stdin=gevent.subprocess.DEVNULL,
            stdout=err,
            stderr=err,
        )
    try:
        addr = wait_for(lambda: address_from_log(log), timeout=30, what="the server to listen")
        wait_for(
            lambda: len(children(proc.pid)) == NUM_WORKERS, timeout=30, what="the workers to start"
        )
        workers = children(proc.pid)
        sent: list[int] = []
        # 0.5 to 1 s each: half run at once, half wait for a worker when SIGTERM arrives.
        jobs = [spawn_call(_slow_request, addr, 0.5 + i * 0.05, sent) for i in range(REQUESTS)]
        wait_for(lambda: len(sent) == REQUESTS, timeout=10, what="every request to be sent")
        gevent.sleep(0.2)
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        results = [job.get(timeout=30) for job in jobs]
        assert [status for status, _ in results] == [200] * REQUESTS, results
        assert {int(body) for _, body in results} <= workers  # answered by the real workers
        assert proc.wait(timeout=30) == 0, log.read_text()[-3000:]
        # The server stops its workers before it exits; allow the kernel a moment to reap.
        deadline = time.monotonic() + 2
        survivors = [pid for pid in workers if alive(pid)]
        while survivors and time.monotonic() < deadline:
            gevent.sleep(0.05)
            survivors = [pid for pid in survivors if alive(pid)]
    finally:
        pool.maxsize = old_maxsize
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        kill_all(workers)  # cleanup only: the assertion below uses what was seen before
    assert not survivors, f"worker processes outlived the server: {survivors}"
    assert "stop signal received" in log.read_text()
