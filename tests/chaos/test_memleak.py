"""A leaking HTTP worker under ``max_worker_memory`` (issue 9).

The app keeps :data:`~tests.chaos.apps.LEAK_STEP` more per request and answers its own RSS,
so the test sees the largest RSS any worker reached: it must be recycled before it passes
the limit by more than one request's growth, and no request may fail meanwhile.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos import scenario
from tests.chaos.apps import LEAK_STEP, wsgi_cmd
from tests.chaos.load import Load
from tests.chaos.report import Figures, Reporter
from tests.chaos.server import config, running
from tests.support.procs import free_port

LIMIT_MIB = 64
CLIENTS = 4
NUM_WORKERS = 2
#: Allocator and interpreter noise on top of the leak itself.
SLACK_KIB = 4 << 10


@pytest.mark.slow
def test_leaking_worker_is_recycled_at_the_limit(
    tmp_path: Path, chaos_seconds: float, report: Reporter
) -> None:
    port = free_port()
    seconds = max(3.0, chaos_seconds / 2)
    data = config(
        wsgi_cmd("leak"),
        port,
        pool={
            "num_workers": NUM_WORKERS,
            "supervisor": {"max_worker_memory": LIMIT_MIB, "watch_tick": "1s"},
        },
    )
    figures = Figures("leaking worker", seconds=seconds)
    with running(tmp_path, data, port) as server:
        pid = server.proc.pid
        scenario.before(figures, pid)
        outcome = Load(port, CLIENTS, seconds, keep_bodies=True).run()
        scenario.after(figures, pid)
        scenario.load(figures, outcome)
        log = server.output()
    rss = [int(b.split()[1]) for b in outcome.bodies_seen]
    pids = {b.split()[0] for b in outcome.bodies_seen}
    limit_kib = LIMIT_MIB << 10
    allowed = limit_kib + (LEAK_STEP >> 10) + SLACK_KIB
    figures.extra.update(
        limit_kib=limit_kib,
        max_worker_rss_kib=max(rss, default=0),
        allowed_kib=allowed,
        workers_seen=len(pids),
    )
    report(figures)

    assert outcome.answered > 0, f"nothing answered:\n{log[-3000:]}"
    assert not outcome.errors, f"failed requests while recycling: {dict(outcome.errors)}"
    assert len(pids) > NUM_WORKERS, "no worker was ever recycled: the leak never hit the limit"
    assert max(rss) <= allowed, (
        f"a worker reached {max(rss)} KiB, past the {limit_kib} KiB limit by more than one "
        f"request's growth ({LEAK_STEP >> 10} KiB)"
    )
