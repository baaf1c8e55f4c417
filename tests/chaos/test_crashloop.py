"""A crash-looping worker fixed on disk while the server runs (issue 9).

The worker script is rewritten with a version that dies right after its handshake; while
it is broken, requests get a 503 at once (none waits ``allocate_timeout``; a 500 is allowed
for a request handed to a broken worker in the instant between its handshake and its
death, since the request was sent to a live worker); once the good
version is back on disk, the pool serves again within the crash-loop backoff, with no
restart of the server.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from actors.pool.crashloop import MAX_CRASH_LOOP_BACKOFF
from tests.chaos import scenario
from tests.chaos.apps import BROKEN_WORKER, GOOD_WORKER
from tests.chaos.load import Load
from tests.chaos.report import Figures, Reporter
from tests.chaos.server import config, running
from tests.examples._serve import get
from tests.support.procs import children, free_port

ALLOCATE_TIMEOUT = 10.0
#: "At once": far below allocate_timeout.
PROMPT = 1.0
#: Time for a fixed worker to boot on a loaded machine, on top of the backoff.
BOOT = 5.0


@pytest.mark.slow
def test_crash_loop_fixed_on_disk(tmp_path: Path, chaos_seconds: float, report: Reporter) -> None:
    script = tmp_path / "app.py"
    script.write_text(GOOD_WORKER)
    port = free_port()
    data = config(
        [sys.executable, str(script)],
        port,
        pool={"num_workers": 2, "allocate_timeout": f"{ALLOCATE_TIMEOUT}s"},
    )
    broken_for = max(3.0, chaos_seconds / 2)
    figures = Figures("crash loop fixed on disk", seconds=broken_for)
    with running(tmp_path, data, port) as server:
        pid = server.proc.pid
        assert get(port)[0] == 200, server.output()
        scenario.before(figures, pid)

        script.write_text(BROKEN_WORKER)
        for worker in children(pid):
            os.kill(worker, signal.SIGKILL)  # the replacements run the broken version
        time.sleep(1.0)  # a few fast deaths: the crash loop is on
        outcome = Load(port, 4, broken_for, check=lambda s, b: s in (500, 503)).run()

        script.write_text(GOOD_WORKER)
        fixed_at = time.monotonic()
        served_after = None
        for _ in range(int((MAX_CRASH_LOOP_BACKOFF + BOOT) / 0.1)):
            try:
                status, _, body = get(port, timeout=PROMPT + ALLOCATE_TIMEOUT)
            except OSError:
                status, body = 0, b""
            if status == 200 and body.startswith(b"fixed"):
                served_after = time.monotonic() - fixed_at
                break
            if time.monotonic() - fixed_at > MAX_CRASH_LOOP_BACKOFF + BOOT:
                break
            time.sleep(0.1)
        still_running = server.proc.poll() is None
        scenario.after(figures, pid)
        scenario.load(figures, outcome)
        figures.extra.update(
            statuses_while_broken=dict(outcome.statuses),
            served_again_after_s=served_after and round(served_after, 2),
        )
        report(figures)
        log = server.output()

    assert outcome.answered > 0, f"nothing answered while broken:\n{log[-3000:]}"
    assert not outcome.errors, f"while broken, not all 503 (or 500): {dict(outcome.errors)}"
    assert outcome.statuses[503] > 0, f"no 503 while broken: {dict(outcome.statuses)}"
    assert figures.max_latency_ms <= PROMPT * 1000, (
        f"a request waited {figures.max_latency_ms} ms for a crash-looping pool (503 at once)"
    )
    assert still_running, f"the server died:\n{log[-3000:]}"
    assert served_after is not None, (
        f"not serving {MAX_CRASH_LOOP_BACKOFF + BOOT} s after the fix:\n{log[-3000:]}"
    )
