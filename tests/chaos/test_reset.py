"""``reset`` 50 times under load, by SIGHUP and by ``resetter.Reset`` over RPC (issue 9).

A reset replaces every worker; requests queued or in flight meanwhile must all succeed.
The count is bounded by 50 and by ``CHAOS_SECONDS``, whichever comes first.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from relays.rpc import RPC
from tests.chaos import scenario
from tests.chaos.apps import wsgi_cmd
from tests.chaos.load import Load
from tests.chaos.report import Figures, Reporter
from tests.chaos.server import WorkerCount, config, ports, running

RESETS = 50
CLIENTS = 8
NUM_WORKERS = 4


@pytest.mark.slow
def test_reset_under_load_fails_no_request(
    tmp_path: Path, chaos_seconds: float, report: Reporter
) -> None:
    port, rpc_port = ports()
    data = config(wsgi_cmd("hello"), port, pool={"num_workers": NUM_WORKERS}, rpc_port=rpc_port)
    figures = Figures("reset under load", seconds=chaos_seconds)
    with (
        running(tmp_path, data, port) as server,
        RPC.create(f"tcp://127.0.0.1:{rpc_port}", timeout=30) as rpc,
    ):
        pid = server.proc.pid
        scenario.before(figures, pid)
        count = WorkerCount(pid, NUM_WORKERS - 1, chaos_seconds + 35).start()
        load = Load(port, CLIENTS, chaos_seconds + 30, keep_bodies=True).start()
        deadline = time.monotonic() + chaos_seconds
        by_signal = by_rpc = 0
        for i in range(RESETS):
            if time.monotonic() >= deadline:
                break
            if i % 2:
                assert rpc.call("resetter.Reset", "http") is True
                by_rpc += 1
            else:
                server.proc.send_signal(signal.SIGHUP)
                by_signal += 1
                time.sleep(0.2)
        load.stop()
        outcome = load.join()
        count.stop()
        scenario.after(figures, pid)
        scenario.load(figures, outcome)
        scenario.workers(figures, count)
        figures.extra.update(
            resets_by_sighup=by_signal,
            resets_by_rpc=by_rpc,
            workers_seen=len(outcome.bodies_seen),
        )
        report(figures)
        log = server.output()

    assert by_rpc + by_signal >= min(RESETS, 4), "too few resets to mean anything"
    assert outcome.answered > 0, f"nothing answered:\n{log[-3000:]}"
    assert not outcome.errors, f"failed requests during resets: {dict(outcome.errors)}"
    assert len(outcome.bodies_seen) > NUM_WORKERS, "the resets did not replace the workers"
