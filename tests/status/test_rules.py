"""RoadRunner's status rules per path (``health.go`` / ``ready.go``), without a socket.

The probes are plain objects returning codes; the worker lists are plain Python lists in the
shape ``Pool.workers()`` returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from actors.status import WorkersProbe, health_code, ready_code
from actors.status.report import encode, evaluate

U = 599  # an unusual unavailable_status_code, so its use is visible


@dataclass
class Fixed:
    """A probe answering fixed values (or raising)."""

    h: int | Exception | None
    r: int | Exception | None = 200

    def health(self) -> int | None:
        return self._answer(self.h)

    def ready(self) -> int | None:
        return self._answer(self.r)

    @staticmethod
    def _answer(v: int | Exception | None) -> int | None:
        if isinstance(v, Exception):
            raise v
        return v


def w(*states: str) -> list[dict[str, object]]:
    return [{"pid": 100 + i, "statusStr": s, "memoryUsage": 1} for i, s in enumerate(states)]


@pytest.mark.parametrize(
    ("workers", "health", "ready"),
    [
        (w("ready"), 200, 200),
        (w("working"), 200, 503),
        (w("working", "ready"), 200, 200),
        (w("invalid", "stopped"), 503, 503),
        (w("errored", "working"), 200, 503),
        ([], 503, 503),
    ],
)
def test_pool_rule(workers: list[dict[str, object]], health: int, ready: int) -> None:
    assert health_code(workers) == health
    assert ready_code(workers) == ready
    probe = WorkersProbe(lambda: workers)
    assert (probe.health(), probe.ready()) == (health, ready)


def test_all_plugins_ok_in_registration_order() -> None:
    probes = {"http": Fixed(200), "jobs": Fixed(204)}
    status, reports = evaluate("health", probes, [], U)
    assert status == 200
    assert reports == [
        {"plugin_name": "http", "error_message": "", "status_code": 200},
        {"plugin_name": "jobs", "error_message": "", "status_code": 204},
    ]


@pytest.mark.parametrize("check", ["health", "ready"])
@pytest.mark.parametrize("query", [[], ["http"]])
def test_5xx_maps_to_unavailable_everywhere(check: str, query: list[str]) -> None:
    status, reports = evaluate(check, {"http": Fixed(503, 500)}, query, U)  # type: ignore[arg-type]
    assert status == U
    assert reports == [
        {
            "plugin_name": "http",
            "error_message": "internal server error, see logs",
            "status_code": U,
        }
    ]


# (check, selected) -> (report code, http status) for a checker error: upstream's quirks.
ERROR_CASES = {
    ("health", False): (U, U),
    ("health", True): (500, 200),
    ("ready", False): (500, 200),
    ("ready", True): (500, U),
}


@pytest.mark.parametrize(("case", "expected"), list(ERROR_CASES.items()))
def test_checker_error_per_path(case: tuple[str, bool], expected: tuple[int, int]) -> None:
    check, selected = case
    probes = {"http": Fixed(RuntimeError("pool is gone"), RuntimeError("pool is gone"))}
    status, reports = evaluate(check, probes, ["http"] if selected else [], U)  # type: ignore[arg-type]
    code, http_status = expected
    assert (reports[0]["status_code"], status) == (code, http_status)
    assert reports[0]["error_message"] == "pool is gone"


@pytest.mark.parametrize(
    ("check", "query", "message"),
    [
        ("health", [], "plugin is not available, returned nil"),
        ("health", ["http"], "plugin is not available"),
        ("ready", [], "plugin is not available"),
        ("ready", ["http"], "plugin is not available"),
    ],
)
def test_unavailable_plugin_keeps_http_status(check: str, query: list[str], message: str) -> None:
    status, reports = evaluate(check, {"http": Fixed(None, None)}, query, U)  # type: ignore[arg-type]
    assert status == 200
    assert reports == [{"plugin_name": "http", "error_message": message, "status_code": U}]


def test_unexpected_code_reported_as_is() -> None:
    status, reports = evaluate("health", {"http": Fixed(404)}, [], U)
    assert status == 200
    assert reports == [
        {"plugin_name": "http", "error_message": "unexpected status code", "status_code": 404}
    ]


def test_query_selects_in_order_and_skips_unknown() -> None:
    probes = {"http": Fixed(200), "jobs": Fixed(503), "tcp": Fixed(201)}
    status, reports = evaluate("health", probes, ["tcp", "nope", "http"], U)
    assert status == 200  # jobs was not asked
    assert [r["plugin_name"] for r in reports] == ["tcp", "http"]
    status, reports = evaluate("ready", probes, ["nope"], U)
    assert (status, reports) == (200, [])


def test_one_failing_plugin_fails_the_whole_answer() -> None:
    probes: dict[str, Fixed] = {"http": Fixed(200), "jobs": Fixed(503)}
    status, reports = evaluate("health", probes, [], U)
    assert status == U
    assert [r["status_code"] for r in reports] == [200, U]


def test_encode_is_go_json() -> None:
    assert encode([]) == b"[]"
    assert encode([{"a": "<x>&é"}]) == '[{"a":"\\u003cx\\u003e\\u0026é"}]'.encode()


def test_probe_is_called_each_time() -> None:
    workers = w("ready")
    calls: list[int] = []

    def source() -> list[dict[str, object]]:
        calls.append(1)
        return workers

    probe: Callable[[], int] = WorkersProbe(source).ready
    assert probe() == 200
    workers[0]["statusStr"] = "working"
    assert probe() == 503
    assert len(calls) == 2
