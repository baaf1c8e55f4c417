"""``http_metrics`` as one link of the chain: outermost, it counts what inner middleware
answers (static files) as well as what workers answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from actors import ActorSystem
from tests.support.http_client import fetch, metrics_series

from .conftest import command


@pytest.fixture
def system(kind: str, short_tmp: Path) -> Iterator[ActorSystem]:
    (short_tmp / "public").mkdir()
    (short_tmp / "public" / "app.css").write_text("body {}\n")
    system = ActorSystem.from_dict(
        {
            "server": {"command": command(kind)},
            "http": {
                "address": "127.0.0.1:0",
                "middleware": ["static", "http_metrics"],
                "static": {"dir": str(short_tmp / "public")},
                "pool": {"num_workers": 1},
            },
            "metrics": {"address": "127.0.0.1:0"},
            "logs": {"level": "error", "mode": "production"},
        }
    ).start()
    try:
        yield system
    finally:
        system.stop(timeout=5)


def _series(system: ActorSystem) -> dict[str, float]:
    assert system.metrics is not None
    return metrics_series(system.metrics.server.address)


def test_static_and_worker_answers_are_counted(system: ActorSystem) -> None:
    address = system.plugins["http"].address
    assert fetch(address, "/app.css") == (200, b"body {}\n")
    assert fetch(address, "/app.css")[0] == 200
    assert fetch(address, "/nothing")[0] == 404  # the worker's answer
    series = _series(system)
    assert series['rr_http_request_total{status="200"}'] == 2
    assert series['rr_http_request_total{status="404"}'] == 1
    assert series['rr_http_request_duration_seconds_count{status="200"}'] == 2
    assert series["rr_http_requests_queue"] == 0
