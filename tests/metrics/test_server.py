"""The exposition over a real socket: pool series, http middleware series, app metrics."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from actors.metrics import (
    CONTENT_TYPE,
    HttpMetrics,
    MetricsServer,
    MetricsService,
    PoolCollector,
    new_registry,
)
from tests.status._client import get


def worker(pid: int, state: str, rss: int) -> dict[str, Any]:
    return {"pid": pid, "status": 0, "statusStr": state, "memoryUsage": rss, "numExecs": 1}


@pytest.fixture
def servers() -> Iterator[list[MetricsServer]]:
    started: list[MetricsServer] = []
    yield started
    for srv in started:
        srv.stop()


def serve(servers: list[MetricsServer], registry: Any) -> MetricsServer:
    srv = MetricsServer("127.0.0.1:0", registry).start()
    servers.append(srv)
    return srv


def scrape(srv: MetricsServer, path: str = "/metrics") -> str:
    status, headers, body = get(srv.address, path)
    assert status == 200
    assert headers["content-type"] == CONTENT_TYPE
    return body.decode()  # type: ignore[no-any-return]


def test_seven_pool_series(servers: list[MetricsServer]) -> None:
    workers = [
        worker(4242, "ready", 10_000_000),
        worker(4243, "working", 20_000_000),
        worker(4244, "invalid", 1_000),
        worker(4245, "stopped", 0),
    ]
    registry = new_registry(runtime=False)
    registry.register(PoolCollector("http", lambda: workers))
    srv = serve(servers, registry)
    out = scrape(srv)
    expected = [
        "rr_http_total_workers 4\n",
        "rr_http_workers_memory_bytes 3.0001e+07\n",
        'rr_http_worker_state{pid="4242",state="ready"} 0\n',
        'rr_http_worker_state{pid="4243",state="working"} 0\n',
        'rr_http_worker_state{pid="4244",state="invalid"} 0\n',
        'rr_http_worker_memory_bytes{pid="4242"} 1e+07\n',
        'rr_http_worker_memory_bytes{pid="4244"} 1000\n',
        "rr_http_workers_ready 1\n",
        "rr_http_workers_working 1\n",
        "rr_http_workers_invalid 2\n",
    ]
    for line in expected:
        assert line in out, line
    # Live: the next scrape sees the pool as it is then.
    workers[:] = [worker(5000, "ready", 1)]
    out = scrape(srv, "/anything/else")
    assert "rr_http_total_workers 1\n" in out and "4242" not in out


def test_two_systems_two_registries(servers: list[MetricsServer]) -> None:
    one, two = new_registry(runtime=False), new_registry(runtime=False)
    one.register(PoolCollector("http", lambda: [worker(1, "ready", 1)]))
    two.register(PoolCollector("http", lambda: [worker(2, "ready", 1), worker(3, "ready", 1)]))
    a, b = serve(servers, one), serve(servers, two)
    assert "rr_http_total_workers 1\n" in scrape(a)
    assert "rr_http_total_workers 2\n" in scrape(b)


def test_broken_source_does_not_break_the_scrape(servers: list[MetricsServer]) -> None:
    def broken() -> list[dict[str, Any]]:
        raise RuntimeError("pool actor is gone")

    registry = new_registry(runtime=False)
    registry.register(PoolCollector("jobs", broken))
    out = scrape(serve(servers, registry))
    assert "rr_jobs_total_workers 0\n" in out


def test_http_middleware_series(servers: list[MetricsServer]) -> None:
    now = [100.0]
    metrics = HttpMetrics(clock=lambda: now[0])
    registry = new_registry(runtime=False)
    registry.register(metrics)
    srv = serve(servers, registry)
    out = scrape(srv)
    assert "rr_http_requests_queue 0\n" in out
    # Like upstream's vectors, these appear once something happened.
    for absent in ("rr_http_request_total", "rr_http_no_free_workers_total", "uptime"):
        assert absent not in out
    metrics.request_started()
    metrics.request_started()
    metrics.request_finished(200, 0.02)
    metrics.request_started()
    metrics.request_finished(500, 12.0)
    metrics.no_free_workers()
    now[0] += 3.7
    out = scrape(srv)
    for line in [
        "rr_http_requests_queue 1\n",
        'rr_http_request_total{status="200"} 1\n',
        'rr_http_request_total{status="500"} 1\n',
        'rr_http_request_duration_seconds_bucket{status="200",le="0.01"} 0\n',
        'rr_http_request_duration_seconds_bucket{status="200",le="0.025"} 1\n',
        'rr_http_request_duration_seconds_bucket{status="500",le="10"} 0\n',
        'rr_http_request_duration_seconds_bucket{status="500",le="20"} 1\n',
        'rr_http_request_duration_seconds_bucket{status="500",le="+Inf"} 1\n',
        'rr_http_request_duration_seconds_sum{status="500"} 12\n',
        'rr_http_request_duration_seconds_count{status="200"} 1\n',
        "# TYPE rr_http_no_free_workers_total counter\nrr_http_no_free_workers_total 1\n",
        "# TYPE rr_http_uptime_seconds counter\nrr_http_uptime_seconds 3\n",
    ]:
        assert line in out, line


def test_bucket_bounds_are_inclusive() -> None:
    metrics = HttpMetrics()
    metrics.request_started()
    metrics.request_finished(200, 0.005)  # exactly on a bound: counted in it (le = "<=")
    registry = new_registry(runtime=False)
    registry.register(metrics)
    from actors.metrics import render

    assert 'le="0.005"} 1\n' in render(registry).decode()


def test_declared_metric_is_scraped(servers: list[MetricsServer]) -> None:
    registry = new_registry()
    service = MetricsService(registry)
    srv = serve(servers, registry)
    service.Declare({"name": "orders", "collector": {"type": "counter", "labels": ["kind"]}})
    service.Add({"name": "orders", "value": 5, "labels": ["paid"]})
    out = scrape(srv)
    assert 'orders{kind="paid"} 5\n' in out
    assert "process_resident_memory_bytes" in out
