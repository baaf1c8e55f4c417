"""32 connections while a random worker is SIGKILLed every 500 ms (issue 9).

Only the requests running on a killed worker may fail, the pool never stays below
``num_workers - 1`` for more than a second, and the p99 stays under 10x the p99 of the same
load measured quietly first, in the same test.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import time
from pathlib import Path

import pytest

from tests.chaos import scenario
from tests.chaos.apps import REPO, wsgi_cmd
from tests.chaos.load import Load
from tests.chaos.report import Figures, Reporter
from tests.chaos.server import WorkerCount, config, running
from tests.support.procs import children, free_port

CLIENTS = 32
NUM_WORKERS = 4
KILL_EVERY = 0.5
#: A worker runs one request at a time: a kill can fail at most this many requests.
IN_FLIGHT_PER_WORKER = 1
#: Errors a kill may cause: a 5xx from the server or the connection going away.
KILL_ERRORS = ("status 500", "status 502", "status 503", "RemoteDisconnected", "Connection")


def _command(kind: str) -> tuple[list[str] | str, str]:
    if kind == "php":
        return f"php {REPO / 'examples' / 'php' / 'raw_worker.php'}", "/chaos"
    return wsgi_cmd("hello"), "/"


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["wsgi", "php"])
def test_random_worker_sigkill_every_500ms(
    kind: str, tmp_path: Path, chaos_seconds: float, report: Reporter
) -> None:
    if kind == "php" and shutil.which("php") is None:
        pytest.skip("php-cli is not installed (apt-get install php-cli): PHP workers not tested")
    command, path = _command(kind)
    port = free_port()
    data = config(command, port, pool={"num_workers": NUM_WORKERS})
    figures = Figures(f"kill workers ({kind})", seconds=chaos_seconds)
    with running(tmp_path, data, port) as server:
        pid = server.proc.pid
        quiet = Load(port, CLIENTS, max(2.0, chaos_seconds / 4), path).run()
        assert not quiet.errors, f"errors without any kill: {dict(quiet.errors)}"
        quiet_p99 = Figures("quiet")
        quiet_p99.record_latencies(quiet.latencies)
        figures.extra["quiet_p99_ms"] = quiet_p99.p99_ms
        figures.extra["quiet_requests"] = quiet.answered

        scenario.before(figures, pid)
        count = WorkerCount(pid, NUM_WORKERS - 1, chaos_seconds + 5).start()
        load = Load(port, CLIENTS, chaos_seconds, path).start()
        kills = 0
        rng = random.Random(9)
        deadline = time.monotonic() + chaos_seconds
        for _ in range(int(chaos_seconds / KILL_EVERY) + 1):
            if time.monotonic() >= deadline:
                break
            pids = sorted(children(pid))
            if pids:
                try:
                    os.kill(rng.choice(pids), signal.SIGKILL)
                    kills += 1
                except ProcessLookupError:
                    pass
            time.sleep(KILL_EVERY)
        outcome = load.join()
        count.stop()
        time.sleep(1.0)  # let the last replacement settle before counting fds
        scenario.after(figures, pid)
        scenario.load(figures, outcome)
        scenario.workers(figures, count)
        figures.extra["kills"] = kills
        report(figures)
        log = server.output()

    assert outcome.answered > 0, f"nothing answered under kills:\n{log[-3000:]}"
    unexpected = {k: n for k, n in outcome.errors.items() if not k.startswith(KILL_ERRORS)}
    assert not unexpected, f"errors a kill does not explain: {unexpected}"
    assert outcome.failed <= kills * IN_FLIGHT_PER_WORKER, (
        f"{outcome.failed} failed requests for {kills} kills: requests on live workers failed "
        f"too ({dict(outcome.errors)})"
    )
    assert count.longest_below <= 1.0, (
        f"the pool stayed below {NUM_WORKERS - 1} workers for {count.longest_below:.2f} s "
        f"(min {count.minimum})"
    )
    limit = 10 * max(quiet_p99.p99_ms, 1.0)
    assert figures.p99_ms <= limit, (
        f"p99 under kills {figures.p99_ms} ms is more than 10x the quiet p99 {quiet_p99.p99_ms} ms"
    )
