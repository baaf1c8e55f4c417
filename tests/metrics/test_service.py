"""``metrics.*`` RPC methods: PHP client argument shapes, upstream's replies and error texts."""

from __future__ import annotations

from typing import Any

import pytest

from actors.metrics import MetricsError, MetricsService, new_registry, render


@pytest.fixture
def service() -> MetricsService:
    return MetricsService(new_registry(runtime=False))


def declare(service: MetricsService, name: str, **collector: Any) -> bool:
    """What ``$metrics->declare($name, Collector::...)`` sends (``Collector::toArray``)."""
    body = {"namespace": "", "subsystem": "", "help": "", "labels": [], "buckets": []}
    body.update(collector)
    return service.Declare({"name": name, "collector": body})


def text(service: MetricsService) -> str:
    return render(service.registry).decode()


def test_declare_then_add_shows_in_exposition(service: MetricsService) -> None:
    assert declare(service, "users", type="counter", help="Users", labels=["type"]) is True
    assert service.Add({"name": "users", "value": 1.0, "labels": ["admin"]}) is True
    assert service.Add({"name": "users", "value": 2, "labels": ["admin"]}) is True
    assert '# HELP users Users\n# TYPE users counter\nusers{type="admin"} 3\n' in text(service)


def test_gauge_set_add_sub_with_namespace(service: MetricsService) -> None:
    declare(service, "memory", type="gauge", namespace="app", subsystem="php")
    service.Set({"name": "memory", "value": 10})
    service.Add({"name": "memory", "value": 5})
    service.Sub({"name": "memory", "value": 3})
    assert "app_php_memory 12\n" in text(service)


def test_histogram_default_buckets_are_gos(service: MetricsService) -> None:
    declare(service, "latency", type="histogram")
    service.Observe({"name": "latency", "value": 0.07})
    out = text(service)
    assert 'latency_bucket{le="0.05"} 0\nlatency_bucket{le="0.1"} 1\n' in out
    assert 'le="0.075"' not in out  # prometheus_client's own default list is not used
    assert 'latency_bucket{le="10"} 1\nlatency_bucket{le="+Inf"} 1\n' in out


def test_histogram_and_summary_with_labels(service: MetricsService) -> None:
    declare(service, "size", type="histogram", buckets=[1, 10], labels=["route"])
    declare(service, "took", type="summary", labels=["route"], objectives={"0.5": 0.05})
    service.Observe({"name": "size", "value": 5, "labels": ["/a"]})
    service.Observe({"name": "took", "value": 0.25, "labels": ["/a"]})
    out = text(service)
    assert 'size_bucket{route="/a",le="1"} 0\nsize_bucket{route="/a",le="10"} 1\n' in out
    assert 'took_sum{route="/a"} 0.25\n' in out and 'took_count{route="/a"} 1\n' in out


def test_declare_twice_keeps_the_first(service: MetricsService) -> None:
    declare(service, "jobs", type="gauge")
    service.Set({"name": "jobs", "value": 4})
    assert declare(service, "jobs", type="counter") is True
    assert "# TYPE jobs gauge\njobs 4\n" in text(service)


def test_unregister(service: MetricsService) -> None:
    declare(service, "temp", type="gauge")
    assert "temp 0" in text(service)
    assert service.Unregister("temp") is True
    assert "temp" not in text(service)
    with pytest.raises(MetricsError) as err:
        service.Unregister("temp")
    assert str(err.value) == "metrics_plugin_unregister: undefined collector temp"
    declare(service, "temp", type="counter")  # the name is free again
    assert "# TYPE temp counter" in text(service)


def test_collect_predeclares(service: MetricsService) -> None:
    service.declare_collect(
        {
            "app_metric": {"type": "histogram", "help": "h", "labels": ["type"], "buckets": [0.5]},
            "app_gauge": {"type": "gauge"},
        }
    )
    service.Observe({"name": "app_metric", "value": 0.2, "labels": ["x"]})
    assert 'app_metric_bucket{type="x",le="0.5"} 1\n' in text(service)
    assert "app_gauge 0\n" in text(service)
    with pytest.raises(MetricsError, match="invalid metric type `meter` for `bad`"):
        service.declare_collect({"bad": {"type": "meter"}})


@pytest.fixture
def declared(service: MetricsService) -> MetricsService:
    declare(service, "c", type="counter")
    declare(service, "cv", type="counter", labels=["a", "b"])
    declare(service, "g", type="gauge")
    declare(service, "gv", type="gauge", labels=["a"])
    declare(service, "h", type="histogram")
    declare(service, "hv", type="histogram", labels=["a"])
    declare(service, "s", type="summary")
    return service


CARD = "inconsistent label cardinality: expected {} label values but got {} in []string{{{}}}"
ERRORS = [
    ("Add", {"name": "nope", "value": 1},
     "metrics_plugin_add: undefined collector nope, try first Declare the desired collector"),
    ("Sub", {"name": "nope", "value": 1}, "metrics_plugin_sub: undefined collector nope"),
    ("Set", {"name": "nope", "value": 1}, "metrics_plugin_set: undefined collector nope"),
    ("Observe", {"name": "nope", "value": 1}, "metrics_plugin_observe: undefined collector nope"),
    ("Add", {"name": "h", "value": 1},
     "metrics_plugin_add: collector h does not support method `Add`"),
    ("Sub", {"name": "c", "value": 1},
     "metrics_plugin_sub: collector `c` does not support method `Sub`"),
    ("Set", {"name": "c", "value": 1},
     "metrics_plugin_set: collector `c` does not support method Set"),
    ("Observe", {"name": "g", "value": 1},
     "metrics_plugin_observe: collector `g` does not support method `Observe`"),
    ("Add", {"name": "cv", "value": 1}, "metrics_plugin_add: required labels for collector `cv`"),
    ("Add", {"name": "gv", "value": 1}, "metrics_plugin_add: required labels for collector gv"),
    ("Set", {"name": "gv", "value": 1, "labels": []},
     "metrics_plugin_set: required labels for collector gv"),
    ("Observe", {"name": "hv", "value": 1},
     "metrics_plugin_observe: required labels for collector `hv`"),
    ("Add", {"name": "cv", "value": 1, "labels": ["x"]},
     "metrics_plugin_add: " + CARD.format(2, 1, '"x"')),
    ("Sub", {"name": "gv", "value": 1, "labels": ["x", "y"]},
     "metrics_plugin_sub: " + CARD.format(1, 2, '"x", "y"')),
    ("Add", {"name": "c", "value": -1}, "metrics_plugin_add: counter cannot decrease in value"),
    ("Add", {"name": "c", "value": "1"}, "metrics_plugin_add: value must be a number, got '1'"),
    ("Add", {"name": "cv", "value": 1, "labels": {"a": "x"}},
     "metrics_plugin_add: labels must be a list of strings, got {'a': 'x'}"),
    ("Declare", {"name": "x", "collector": {"type": "meter"}},
     "metrics_plugin_declare: unknown collector type meter"),
    ("Declare", {"name": "x-y", "collector": {"type": "gauge"}},
     'metrics_plugin_declare: "x-y" is not a valid metric name'),
    ("Declare", {"name": "x", "collector": {"type": "gauge", "labels": ["__x"]}},
     'metrics_plugin_declare: "__x" is not a valid label name for metric "x"'),
    ("Declare", {"collector": {"type": "gauge"}},
     "metrics_plugin_declare: name must be a non-empty string, got None"),
    ("Declare", "g", "metrics_plugin_declare: argument must be a JSON object, got str"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "arg", "message"), ERRORS)
def test_errors_use_upstream_wording(
    declared: MetricsService, method: str, arg: Any, message: str
) -> None:
    before = text(declared)
    with pytest.raises(MetricsError) as err:
        getattr(declared, method)(arg)
    assert str(err.value) == message
    assert text(declared) == before  # a failed call changes nothing


def test_plain_collectors_ignore_labels(declared: MetricsService) -> None:
    declared.Add({"name": "c", "value": 1, "labels": ["ignored"]})
    declared.Observe({"name": "s", "value": 2})
    out = text(declared)
    assert "\nc 1\n" in out and "s_sum 2\n" in out


def test_field_names_match_case_insensitively(declared: MetricsService) -> None:
    declared.Set({"Name": "g", "Value": 9})
    assert "\ng 9\n" in text(declared)


def test_name_clash_with_other_collectors() -> None:
    service = MetricsService(new_registry())
    with pytest.raises(MetricsError) as err:
        service.Declare({"name": "process_open_fds", "collector": {"type": "gauge"}})
    assert "duplicate metrics collector registration attempted" in str(err.value)
    assert "process_open_fds" not in service.collectors
