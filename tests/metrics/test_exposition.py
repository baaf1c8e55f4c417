"""The text format as Go writes it, and one registry per instance."""

from __future__ import annotations

import pytest
from prometheus_client import Counter, Gauge

from actors.metrics import MetricsService, new_registry, render
from actors.metrics.exposition import go_float


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (0.0, "0"),
        (2.5, "2.5"),
        (60.0, "60"),
        (0.005, "0.005"),
        (123456.0, "123456"),
        (1000000.0, "1e+06"),
        (52428800.0, "5.24288e+07"),
        (1e-05, "1e-05"),
        (0.0001, "0.0001"),
        (-3.5, "-3.5"),
        (1e21, "1e+21"),
        (float("inf"), "+Inf"),
        (float("-inf"), "-Inf"),
        (float("nan"), "NaN"),
    ],
)
def test_go_float(value: float, text: str) -> None:
    assert go_float(value) == text


def test_counters_keep_their_names_and_lose_created() -> None:
    registry = new_registry(runtime=False)
    lib = Counter("lib_requests_total", "from a library", registry=registry)
    lib.inc(3)
    service = MetricsService(registry)
    service.Declare({"name": "registered_users", "collector": {"type": "counter", "help": "u"}})
    service.Add({"name": "registered_users", "value": 2})
    text = render(registry).decode()
    assert "# TYPE registered_users counter\nregistered_users 2\n" in text
    assert "# TYPE lib_requests_total counter\nlib_requests_total 3\n" in text
    assert "_created" not in text


def test_families_sorted_and_empty_vectors_left_out() -> None:
    registry = new_registry(runtime=False)
    Gauge("zeta", "z", registry=registry).set(1)
    Gauge("alpha", "a", registry=registry).set(2)
    Gauge("unused", "never labelled", ["path"], registry=registry)
    text = render(registry).decode()
    assert (
        text
        == "# HELP alpha a\n# TYPE alpha gauge\nalpha 2\n# HELP zeta z\n# TYPE zeta gauge\nzeta 1\n"
    )


def test_label_values_and_help_escaped() -> None:
    registry = new_registry(runtime=False)
    Gauge("g", "line\\one\ntwo", ["v"], registry=registry).labels('a"b\\c\nd').set(1)
    text = render(registry).decode()
    assert "# HELP g line\\\\one\\ntwo\n" in text
    assert 'g{v="a\\"b\\\\c\\nd"} 1\n' in text


def test_two_registries_are_independent() -> None:
    one, two = new_registry(), new_registry()
    MetricsService(one).Declare({"name": "app_hits", "collector": {"type": "gauge"}})
    # The same name again in the other registry is no clash.
    service_two = MetricsService(two)
    service_two.Declare({"name": "app_hits", "collector": {"type": "gauge"}})
    service_two.Set({"name": "app_hits", "value": 7})
    assert b"app_hits 0\n" in render(one)
    assert b"app_hits 7\n" in render(two)
    # Runtime collectors are there, per registry.
    assert b"process_resident_memory_bytes" in render(one)
    assert b"python_info" in render(two)
