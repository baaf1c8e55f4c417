"""``max_jobs: 1`` under load on every relay: a new worker per request, no failure (issue 9)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos import scenario
from tests.chaos.apps import wsgi_cmd
from tests.chaos.load import Load
from tests.chaos.report import Figures, Reporter
from tests.chaos.server import WorkerCount, config, relay_dsn, running
from tests.support.procs import free_port

CLIENTS = 8
NUM_WORKERS = 4


@pytest.fixture
def short_dir() -> Iterator[str]:
    path = tempfile.mkdtemp(prefix="gr-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("relay", ["pipes", "tcp", "unix"])
def test_max_jobs_1_under_load(
    relay: str, tmp_path: Path, short_dir: str, chaos_seconds: float, report: Reporter
) -> None:
    port = free_port()
    seconds = max(3.0, chaos_seconds / 2)
    data = config(
        wsgi_cmd("hello"),
        port,
        relay=relay_dsn(relay, short_dir),
        pool={"num_workers": NUM_WORKERS, "max_jobs": 1},
    )
    figures = Figures(f"max_jobs 1 ({relay})", seconds=seconds)
    with running(tmp_path, data, port) as server:
        pid = server.proc.pid
        scenario.before(figures, pid)
        count = WorkerCount(pid, NUM_WORKERS - 1, seconds + 5).start()
        outcome = Load(port, CLIENTS, seconds, keep_bodies=True).run()
        count.stop()
        scenario.after(figures, pid)
        scenario.load(figures, outcome)
        scenario.workers(figures, count)
        figures.extra["distinct_workers"] = len(outcome.bodies_seen)
        report(figures)
        log = server.output()

    assert outcome.answered > NUM_WORKERS, f"too few answers to mean anything:\n{log[-3000:]}"
    assert not outcome.errors, f"failed requests with max_jobs 1: {dict(outcome.errors)}"
    # One request per worker: every answer came from a different process (pid reuse aside).
    assert len(outcome.bodies_seen) >= outcome.answered * 0.95, (
        f"{outcome.answered} answers from {len(outcome.bodies_seen)} workers: max_jobs ignored"
    )
