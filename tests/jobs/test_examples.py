"""config/jobs.rr.yaml with examples/jobs_consumer.py, fed by examples/jobs_producer.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import gevent
import gevent.subprocess
import pytest

from actors.system import ActorSystem
from tests.support.procs import kill_all

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_config_consumer_and_producer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # server.command is `python3 -m examples.jobs_consumer`
    system = ActorSystem.from_file(
        ROOT / "config" / "jobs.rr.yaml",
        [
            "rpc.listen=tcp://127.0.0.1:0",
            "status.address=127.0.0.1:0",
            "logs.level=error",
            f"server.command={sys.executable} -m examples.jobs_consumer",
        ],
    ).start()
    pids = [w["pid"] for w in system.pools["jobs"].workers()]
    try:
        done = gevent.subprocess.run(
            [sys.executable, "-m", "examples.jobs_producer", "5"],
            cwd=ROOT, env={**os.environ, "RR_RPC": system.rpc.address},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "emails: active" in done.stdout and "reports: active" in done.stdout
        metrics = system.plugins["jobs"].metrics
        # 5 + 2 emails and a report; the bad address is tried 3 times (2 requeues, 1 nack).
        deadline = gevent.get_hub().loop.now() + 15
        while metrics.jobs_ok < 10 and gevent.get_hub().loop.now() < deadline:
            gevent.sleep(0.1)
        assert metrics.jobs_ok == 10 and metrics.jobs_err == 0
        states = {s["Pipeline"]: s for s in system.plugins["jobs"].jobs_state()}
        assert states["emails"]["Active"] == 0 and states["reports"]["Delayed"] == 0
    finally:
        system.stop(timeout=5)
        kill_all(pids)
