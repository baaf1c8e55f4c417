"""A real pool of worker processes feeding the pool collector and the http-style probe."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.metrics import MetricsServer, PoolCollector, new_registry
from actors.pool import Pool
from actors.status import StatusServer, WorkersProbe
from actors.system import ActorSystem
from tests.status._client import get
from tests.support.procs import kill_all

ECHO = Path(__file__).resolve().parents[1] / "workers" / "echo.py"


@pytest.fixture
def pool() -> Iterator[Pool]:
    system = ActorSystem.from_dict(
        {
            "server": {"command": [sys.executable, str(ECHO)]},
            "logs": {"level": "error", "mode": "production"},
        }
    ).start()
    pool = system.new_pool("http", {"num_workers": 2, "allocate_timeout": "10s"})
    pids = [w["pid"] for w in pool.workers()]
    try:
        yield pool
    finally:
        system.stop(timeout=3)
        kill_all(pids)


def test_real_pool_status_and_metrics(pool: Pool) -> None:
    registry = new_registry()
    registry.register(PoolCollector("http", pool.workers))
    metrics = MetricsServer("127.0.0.1:0", registry).start()
    status = StatusServer("127.0.0.1:0", lambda: {"http": WorkersProbe(pool.workers)}).start()
    try:
        pids = sorted(w["pid"] for w in pool.workers())
        assert len(pids) == 2
        _, _, body = get(metrics.address, "/metrics")
        out = body.decode()
        assert "rr_http_total_workers 2\n" in out
        assert "rr_http_workers_ready 2\n" in out
        for pid in pids:
            assert f'rr_http_worker_state{{pid="{pid}",state="ready"}} 0\n' in out
            assert f'rr_http_worker_memory_bytes{{pid="{pid}"}} ' in out
        assert "rr_http_workers_memory_bytes 0\n" not in out  # real RSS was read

        code, _, body = get(status.address, "/ready?plugin=http")
        assert code == 200
        assert json.loads(body) == [
            {"plugin_name": "http", "error_message": "", "status_code": 200}
        ]

        pool.destroy(timeout=3)  # no worker left: neither ready nor alive
        assert get(status.address, "/ready")[0] == 503
        code, _, body = get(status.address, "/ready?plugin=http")
        assert code == 503
        assert json.loads(body)[0]["error_message"] == "internal server error, see logs"
        assert get(status.address, "/health")[0] == 503
        _, _, body = get(metrics.address, "/")
        assert "rr_http_total_workers 0\n" in body.decode()
    finally:
        metrics.stop()
        status.stop()
