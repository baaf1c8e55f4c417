"""``status`` and ``metrics`` sections in a real ActorSystem: probes and series follow the pools.

Workers are real processes; the HTTP clients are blocking ``http.client`` calls in the
hub's threadpool, so the servers keep running on the test's hub.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent
import pytest

from actors import ActorSystem, Payload
from relays.rpc import RPC
from tests.support.http_client import fetch as get
from tests.support.http_client import metrics_series
from tests.support.hub import wait_for

WORKERS = Path(__file__).resolve().parents[1] / "workers"


@pytest.fixture
def flag(tmp_path: Path) -> Path:
    return tmp_path / "fail"


@pytest.fixture
def system(flag: Path) -> Iterator[ActorSystem]:
    system = ActorSystem.from_dict(
        {
            "server": {
                "command": [sys.executable, str(WORKERS / "flaky_boot.py")],
                "env": {"FAIL_FLAG": str(flag)},
            },
            "rpc": {"listen": "tcp://127.0.0.1:0"},
            "status": {"address": "127.0.0.1:0"},
            "metrics": {
                "address": "127.0.0.1:0",
                "collect": {"app_jobs": {"type": "counter", "help": "jobs done"}},
            },
            "logs": {"level": "error", "mode": "production"},
        }
    ).start()
    try:
        yield system
    finally:
        system.stop(timeout=5)


def scrape(system: ActorSystem) -> dict[str, float]:
    assert system.metrics is not None
    return metrics_series(system.metrics.server.address)


def test_ready_and_health_follow_the_workers(system: ActorSystem, flag: Path) -> None:
    pool = system.new_pool("jobs", {"num_workers": 2, "allocate_timeout": "2s"})
    address = system.status.server.address
    status, body = get(address, "/ready?plugin=jobs")
    assert status == 200
    assert json.loads(body) == [{"plugin_name": "jobs", "error_message": "", "status_code": 200}]
    assert get(address, "/health")[0] == 200

    flag.write_text("x")  # replacements cannot start from now on
    for worker in pool.workers():
        os.kill(worker["pid"], signal.SIGKILL)
    assert wait_for(lambda: get(address, "/health?plugin=jobs")[0] == 503, timeout=10)
    assert get(address, "/ready?plugin=jobs")[0] == 503

    flag.unlink()  # fixed on disk: the pool heals by itself
    assert wait_for(lambda: get(address, "/ready?plugin=jobs")[0] == 200, timeout=40)
    assert pool.exec(Payload(b"x")).body.isdigit()


def test_ready_is_unavailable_at_once_when_shutting_down(system: ActorSystem) -> None:
    system.new_pool("jobs", {"num_workers": 1})
    address = system.status.server.address
    system.status.shutting_down()
    status, body = get(address, "/ready")
    assert (status, body) == (503, b"service is shutting down\n")  # Go's http.Error


def test_pool_series_and_app_metrics(system: ActorSystem) -> None:
    pool = system.new_pool("jobs", {"num_workers": 2})
    series = scrape(system)
    assert series["rr_jobs_total_workers"] == 2
    assert series["rr_jobs_workers_ready"] == 2
    assert series["rr_jobs_workers_memory_bytes"] == sum(w["memoryUsage"] for w in pool.workers())
    assert series["app_jobs"] == 0

    def php_style_calls() -> Any:
        with RPC.create(system.rpc.address, timeout=20) as rpc:
            rpc.call(
                "metrics.Declare",
                {"name": "uploads", "collector": {"type": "gauge", "help": "in flight"}},
            )
            rpc.call("metrics.Add", {"name": "uploads", "value": 3})
            rpc.call("metrics.Add", {"name": "app_jobs", "value": 2})

    gevent.get_hub().threadpool.apply(php_style_calls)
    series = scrape(system)
    assert series["uploads"] == 3 and series["app_jobs"] == 2


def test_http_metrics_middleware_counts_requests(tmp_path: Path) -> None:
    system = ActorSystem.from_dict(
        {
            "server": {"command": [sys.executable, str(WORKERS / "http_app.py")]},
            "http": {
                "address": "127.0.0.1:0",
                "middleware": ["http_metrics"],
                "pool": {"num_workers": 1, "allocate_timeout": "300ms"},
            },
            "metrics": {"address": "127.0.0.1:0"},
            "logs": {"level": "error", "mode": "production"},
        }
    ).start()
    try:
        address = system.plugins["http"].address
        for _ in range(3):
            assert get(address, "/pid")[0] == 200
        assert get(address, "/status?code=404")[0] == 404
        busy = gevent.spawn(get, address, "/sleep?s=1.5")
        gevent.sleep(0.3)
        assert get(address, "/pid")[0] == 503  # the only worker is busy past allocate_timeout
        assert busy.get(timeout=20)[0] == 200
        series = scrape(system)
        assert series['rr_http_request_total{status="200"}'] == 4
        assert series['rr_http_request_total{status="404"}'] == 1
        assert series['rr_http_request_total{status="503"}'] == 1
        assert series['rr_http_request_duration_seconds_count{status="200"}'] == 4
        assert series["rr_http_no_free_workers_total"] == 1
        assert series["rr_http_requests_queue"] == 0
        assert series["rr_http_total_workers"] == 1
    finally:
        system.stop(timeout=5)


def test_http_without_the_middleware_has_no_request_series() -> None:
    system = ActorSystem.from_dict(
        {
            "server": {"command": [sys.executable, "-m", "relays.wsgi", "examples.hello:app"]},
            "http": {"address": "127.0.0.1:0", "pool": {"num_workers": 1}},
            "metrics": {"address": "127.0.0.1:0"},
            "logs": {"level": "error", "mode": "production"},
        }
    ).start()
    try:
        assert get(system.plugins["http"].address, "/")[0] == 200
        assert not [k for k in scrape(system) if k.startswith("rr_http_request")]
    finally:
        system.stop(timeout=5)


def test_ready_flips_while_every_worker_is_busy_over_http_and_rpc(system: ActorSystem) -> None:
    from actors.services.status import decode_request, encode_response
    from relays.frame import CODEC_PROTO

    pool = system.new_pool(
        "jobs", {"num_workers": 2, "command": [sys.executable, str(WORKERS / "sleep.py")]}
    )
    request = b"\x0a\x04jobs"  # status.v1.Request{plugin: "jobs"}
    assert decode_request(request) == "jobs"
    address = system.status.server.address

    def ask(method: str, body: bytes) -> Any:
        with RPC.create(system.rpc.address, timeout=20) as rpc:
            return rpc.call(method, body, codec=CODEC_PROTO)

    def rpc(method: str, body: bytes = request) -> Any:
        return gevent.get_hub().threadpool.apply(ask, (method, body))

    assert get(address, "/ready?plugin=jobs")[0] == 200
    assert rpc("status.Ready") == encode_response(200)
    busy = [gevent.spawn(pool.exec, Payload(b"1.5")) for _ in range(2)]
    wait_for(lambda: {w["statusStr"] for w in pool.workers()} == {"working"})
    assert get(address, "/ready?plugin=jobs")[0] == 503  # no free worker
    assert get(address, "/health?plugin=jobs")[0] == 200  # but alive
    assert rpc("status.Ready") == encode_response(503)
    assert rpc("status.Status") == encode_response(200)
    gevent.joinall(busy, timeout=20, raise_error=True)
    assert get(address, "/ready?plugin=jobs")[0] == 200
    with pytest.raises(Exception, match="no such plugin: nope"):
        rpc("status.Status", b"\x0a\x04nope")
