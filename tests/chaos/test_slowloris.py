"""Slowloris beside normal load (issue 9): 200 connections sending a byte every 2 s.

Normal clients are unaffected (no error, p99 under 10x their quiet p99) and every slow
connection is cut at the header deadline (``http.header_timeout``) plus at most one byte
interval.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos import scenario
from tests.chaos.apps import wsgi_cmd
from tests.chaos.load import Load
from tests.chaos.report import Figures, Reporter
from tests.chaos.server import config, running
from tests.chaos.slowloris import Slowloris
from tests.support.procs import free_port

SLOW = 200
EVERY = 2.0
HEADER_TIMEOUT = 2.0
CLIENTS = 8
#: Scheduling slack on a loaded machine, on top of the deadline and one byte interval.
MARGIN = 2.0


@pytest.mark.slow
def test_slowloris_beside_normal_load(
    tmp_path: Path, chaos_seconds: float, report: Reporter
) -> None:
    port = free_port()
    data = config(
        wsgi_cmd("hello"),
        port,
        pool={"num_workers": 4},
        http={"header_timeout": f"{HEADER_TIMEOUT}s"},
    )
    figures = Figures("slowloris", seconds=chaos_seconds)
    with running(tmp_path, data, port) as server:
        pid = server.proc.pid
        quiet = Load(port, CLIENTS, max(2.0, chaos_seconds / 4)).run()
        quiet_figures = Figures("quiet")
        quiet_figures.record_latencies(quiet.latencies)
        scenario.before(figures, pid)
        slow = Slowloris(port, SLOW, chaos_seconds, EVERY).start()
        outcome = Load(port, CLIENTS, chaos_seconds).run()
        result = slow.join()
        scenario.after(figures, pid)
        scenario.load(figures, outcome)
        figures.extra.update(
            quiet_p99_ms=quiet_figures.p99_ms,
            slow_opened=result.opened,
            slow_refused=result.refused,
            slow_cut=len(result.cut_after),
            slow_longest_s=round(result.longest, 2),
            slow_answers=result.answers,
        )
        report(figures)
        log = server.output()

    assert not quiet.errors, f"errors before any slow client: {dict(quiet.errors)}"
    assert outcome.answered > 0, f"normal clients got nothing:\n{log[-3000:]}"
    assert not outcome.errors, f"normal clients failed beside slowloris: {dict(outcome.errors)}"
    limit = 10 * max(quiet_figures.p99_ms, 1.0)
    assert figures.p99_ms <= limit, (
        f"normal p99 {figures.p99_ms} ms beside slowloris, quiet {quiet_figures.p99_ms} ms"
    )
    bound = HEADER_TIMEOUT + EVERY + MARGIN
    assert result.cut_after, "the server never cut a slow connection"
    assert result.longest <= bound, (
        f"a slow connection lived {result.longest:.1f} s, past the {HEADER_TIMEOUT} s header "
        f"deadline (+{EVERY} s byte interval +{MARGIN} s slack)"
    )
