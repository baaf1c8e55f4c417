"""The status endpoints over a real socket with a real HTTP client.

Plugins are given as probes over plain worker lists (the shape ``Pool.workers()`` returns);
changing a list changes what the next request sees.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from actors.status import PluginProbe, StatusServer, WorkersProbe
from tests.status._client import get

Workers = list[dict[str, Any]]


def worker(pid: int, state: str) -> dict[str, Any]:
    return {"pid": pid, "status": 0, "statusStr": state, "memoryUsage": 1024, "numExecs": 0}


class Plugins:
    """Named worker lists and the probe mapping built from them."""

    def __init__(self, **lists: Workers) -> None:
        self.lists = lists
        self.extra: dict[str, PluginProbe] = {}

    def probes(self) -> dict[str, PluginProbe]:
        probes: dict[str, PluginProbe] = {
            name: WorkersProbe(lambda name=name: self.lists[name]) for name in self.lists
        }
        probes.update(self.extra)
        return probes


@pytest.fixture
def plugins() -> Plugins:
    return Plugins(http=[worker(10, "ready"), worker(11, "working")], jobs=[worker(20, "ready")])


@pytest.fixture
def server(plugins: Plugins) -> Iterator[StatusServer]:
    srv = StatusServer("127.0.0.1:0", plugins.probes, unavailable_status_code=501).start()
    yield srv
    srv.stop()


def reports(body: bytes) -> list[dict[str, Any]]:
    return json.loads(body)  # type: ignore[no-any-return]


def test_binds_a_real_port(server: StatusServer) -> None:
    host, port = server.address
    assert host == "127.0.0.1" and port > 0


def test_health_all_plugins(server: StatusServer, plugins: Plugins) -> None:
    status, headers, body = get(server.address, "/health")
    assert status == 200
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert body == (
        b'[{"plugin_name":"http","error_message":"","status_code":200},'
        b'{"plugin_name":"jobs","error_message":"","status_code":200}]'
    )
    plugins.lists["jobs"][0]["statusStr"] = "invalid"
    status, _, body = get(server.address, "/health")
    assert status == 501
    assert reports(body)[1] == {
        "plugin_name": "jobs",
        "error_message": "internal server error, see logs",
        "status_code": 501,
    }


def test_ready_flips_with_the_worker_list(server: StatusServer, plugins: Plugins) -> None:
    http_only = "/ready?plugin=http"
    assert get(server.address, http_only)[0] == 200
    plugins.lists["http"][0]["statusStr"] = "working"  # both busy: alive, not ready
    status, _, body = get(server.address, http_only)
    assert status == 501
    assert reports(body) == [
        {
            "plugin_name": "http",
            "error_message": "internal server error, see logs",
            "status_code": 501,
        }
    ]
    assert get(server.address, "/health?plugin=http")[0] == 200
    plugins.lists["http"][:] = []  # no worker at all: not alive either
    assert get(server.address, "/health?plugin=http")[0] == 501
    plugins.lists["http"].append(worker(12, "ready"))
    assert get(server.address, http_only)[0] == 200


def test_plugin_query_selects_and_repeats(server: StatusServer, plugins: Plugins) -> None:
    plugins.lists["http"][:] = []  # http is down, but only jobs is asked
    status, _, body = get(server.address, "/ready?plugin=jobs&plugin=missing")
    assert status == 200
    assert [r["plugin_name"] for r in reports(body)] == ["jobs"]
    status, _, body = get(server.address, "/ready?plugin=jobs&plugin=http")
    assert status == 501
    assert [r["status_code"] for r in reports(body)] == [200, 501]
    status, _, body = get(server.address, "/health?plugin=missing")
    assert (status, body) == (200, b"[]")


def test_checker_error_quirks_over_http(server: StatusServer, plugins: Plugins) -> None:
    class Broken:
        def health(self) -> int | None:
            raise RuntimeError("no pool")

        def ready(self) -> int | None:
            raise RuntimeError("no pool")

    plugins.extra["rpc"] = Broken()
    status, _, body = get(server.address, "/health")
    assert status == 501 and reports(body)[2]["status_code"] == 501
    status, _, body = get(server.address, "/health?plugin=rpc")
    assert status == 200 and reports(body)[0]["status_code"] == 500
    status, _, body = get(server.address, "/ready")
    assert status == 200 and reports(body)[2] == {
        "plugin_name": "rpc",
        "error_message": "no pool",
        "status_code": 500,
    }
    assert get(server.address, "/ready?plugin=rpc")[0] == 501


def test_any_method_and_unknown_paths(server: StatusServer) -> None:
    assert get(server.address, "/health", "POST")[0] == 200
    status, _, body = get(server.address, "/healthz")
    assert (status, body) == (404, b"404 page not found\n")


def test_jobs_without_a_jobs_plugin(server: StatusServer) -> None:
    status, headers, body = get(server.address, "/jobs")
    assert (status, body) == (501, b"jobs plugin not found\n")
    assert headers["x-content-type-options"] == "nosniff"


def test_jobs_report_shape(plugins: Plugins) -> None:
    states = [
        {"pipeline": "emails", "driver": "memory", "ready": True, "active": 3, "priority": 10},
        {"Pipeline": "pdf", "Driver": "memory", "ErrorMessage": "paused", "Delayed": 2},
    ]
    srv = StatusServer("127.0.0.1:0", plugins.probes, jobs=lambda: states).start()
    try:
        status, _, body = get(srv.address, "/jobs")
    finally:
        srv.stop()
    assert status == 200
    assert json.loads(body) == [
        {
            "pipeline": "emails",
            "priority": 10,
            "ready": True,
            "queue": "",
            "active": 3,
            "delayed": 0,
            "reserved": 0,
            "driver": "memory",
            "error_message": "",
        },
        {
            "pipeline": "pdf",
            "priority": 0,
            "ready": False,
            "queue": "",
            "active": 0,
            "delayed": 2,
            "reserved": 0,
            "driver": "memory",
            "error_message": "paused",
        },
    ]
    assert list(json.loads(body)[0]) == [
        "pipeline", "priority", "ready", "queue", "active", "delayed", "reserved", "driver",
        "error_message",
    ]  # fmt: skip


def test_shutting_down(server: StatusServer, plugins: Plugins) -> None:
    asked: list[str] = []
    plugins.extra["spy"] = WorkersProbe(lambda: asked.append("x") or [worker(1, "ready")])
    server.shutting_down()
    assert server.stopping
    for target in ("/ready", "/ready?plugin=http", "/jobs"):
        status, _headers, body = get(server.address, target)
        assert (status, body) == (503, b"service is shutting down\n"), target
    # RoadRunner's quirk: /health says the same with 200 (the process is still alive).
    assert get(server.address, "/health")[:3:2] == (200, b"service is shutting down\n")
    assert asked == []  # nothing was probed


def test_stop_closes_the_listener(plugins: Plugins) -> None:
    srv = StatusServer("127.0.0.1:0", plugins.probes).start()
    addr = srv.address
    assert get(addr, "/health")[0] == 200
    srv.stop()
    with pytest.raises(ConnectionRefusedError):
        get(addr, "/health")


def test_bad_arguments_are_explained() -> None:
    with pytest.raises(ValueError, match="expected host:port"):
        StatusServer("2114", dict)
    with pytest.raises(ValueError, match="unavailable_status_code"):
        StatusServer("127.0.0.1:0", dict, unavailable_status_code=42)
