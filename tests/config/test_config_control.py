"""The control-plane sections: ``rpc``, ``status`` and ``metrics`` (good values,
defaults, and bad values reported with file, line, column, key path and a hint)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from actors.config import (
    CollectorConfig,
    ConfigError,
    MetricsConfig,
    RpcConfig,
    StatusConfig,
    config_from_dict,
    load_config,
)
from tests.config.helpers import write


def test_sections_absent_means_disabled(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, 'version: "3"\n'), environ={})
    assert (cfg.rpc, cfg.status, cfg.metrics) == (None, None, None)


def test_empty_sections_get_roadrunner_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, 'version: "3"\nrpc:\nmetrics:\nstatus: {address: "127.0.0.1:2114"}\n')
    cfg = load_config(path, environ={})
    assert cfg.rpc == RpcConfig(listen="tcp://127.0.0.1:6001")
    assert cfg.metrics == MetricsConfig(address="127.0.0.1:2112", collect={})
    assert (cfg.metrics.host, cfg.metrics.port) == ("127.0.0.1", 2112)
    assert cfg.status == StatusConfig(
        address="127.0.0.1:2114", unavailable_status_code=503, check_timeout=60
    )
    assert (cfg.status.host, cfg.status.port) == ("127.0.0.1", 2114)


def test_full_control_plane(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(
        tmp_path,
        """
        version: "3"
        rpc:
          listen: unix:///tmp/gr-rpc.sock
        status:
          address: ":2114"
          unavailable_status_code: 500
          check_timeout: "5"
        metrics:
          address: "[::1]:9180"
          collect:
            app_metric:
              type: histogram
              help: "Custom application metric"
              labels: [ "type" ]
              buckets: [ 0.1, 0.2, "0.3", 1 ]
            jobs_total:
              type: Counter
              namespace: app
              subsystem: queue
              labels: [queue, status]
            latency:
              type: summary
              objectives:
                - 0.5: 0.05
                - 0.99: 0.001
            in_flight:
              type: gauge
              objectives: {0.9: 0.01}
        """,
    )
    with caplog.at_level(logging.WARNING, logger="greenrunner.config"):
        cfg = load_config(path, environ={})
    assert cfg.rpc == RpcConfig(listen="unix:///tmp/gr-rpc.sock")
    assert cfg.status == StatusConfig(
        address="0.0.0.0:2114", unavailable_status_code=500, check_timeout=5
    )
    metrics = cfg.metrics
    assert metrics is not None
    assert (metrics.address, metrics.host, metrics.port) == ("[::1]:9180", "::1", 9180)
    assert metrics.collect == {
        "app_metric": CollectorConfig(
            name="app_metric",
            type="histogram",
            help="Custom application metric",
            labels=["type"],
            buckets=[0.1, 0.2, 0.3, 1.0],
        ),
        "jobs_total": CollectorConfig(
            name="jobs_total",
            type="counter",
            namespace="app",
            subsystem="queue",
            labels=["queue", "status"],
        ),
        "latency": CollectorConfig(
            name="latency", type="summary", objectives={0.5: 0.05, 0.99: 0.001}
        ),
        "in_flight": CollectorConfig(name="in_flight", type="gauge"),
    }
    assert metrics.collect["jobs_total"].full_name == "app_queue_jobs_total"
    assert metrics.collect["latency"].full_name == "latency"
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == [
        f"{path}:28: metrics.collect.in_flight.objectives: "
        "objectives only apply to summary metrics; ignored"
    ]


def test_zero_means_default_and_unset_env_address(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: "3"
        status: {address: "127.0.0.1:1", unavailable_status_code: 0, check_timeout: 0}
        metrics: {address: "${METRICS_ADDR}"}
        """,
    )
    cfg = load_config(path, environ={})
    assert cfg.status is not None
    assert (cfg.status.unavailable_status_code, cfg.status.check_timeout) == (503, 60)
    assert cfg.metrics == MetricsConfig()


def test_buckets_on_a_counter_are_dropped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(
        tmp_path, 'version: "3"\nmetrics:\n  collect:\n    c: {type: counter, buckets: [2, 1]}\n'
    )
    with caplog.at_level(logging.WARNING, logger="greenrunner.config"):
        cfg = load_config(path, environ={})
    assert cfg.metrics is not None
    assert cfg.metrics.collect["c"].buckets == []
    assert "metrics.collect.c.buckets: buckets only apply to histogram metrics" in caplog.text


def test_config_from_dict_takes_the_sections_too() -> None:
    cfg = config_from_dict(
        {
            "status": {"address": "127.0.0.1:2114"},
            "metrics": {"collect": {"hits": {"type": "counter", "labels": ["path"]}}},
        },
        environ={},
    )
    assert cfg.status == StatusConfig(address="127.0.0.1:2114")
    assert cfg.metrics is not None
    assert cfg.metrics.collect["hits"] == CollectorConfig(
        name="hits", type="counter", labels=["path"]
    )


def test_dataclasses_can_be_built_directly() -> None:
    assert MetricsConfig(address=":2112").host == "0.0.0.0"
    assert StatusConfig(address="[::1]:2114").host == "::1"


# (id, yaml after 'version: "3"', line, key_path, text the message must contain)
BAD = [
    ("rpc-listen-pipes", "rpc: {listen: pipes}\n", 2, "rpc.listen", "expected tcp://host:port"),
    ("rpc-not-a-map", "rpc: tcp://127.0.0.1:6001\n", 2, "rpc", "expected a map"),
    ("rpc-unknown-key", "rpc:\n  lisen: tcp://127.0.0.1:1\n", 3, "rpc.lisen", "'listen'?"),
    (
        "status-without-address",
        "status:\n  check_timeout: 5\n",
        2,
        "status.address",
        "status needs an address to listen on",
    ),
    (
        "status-address-null",
        "status:\n  address:\n",
        3,
        "status.address",
        "status.address is empty",
    ),
    (
        "status-address-no-port",
        "status: {address: localhost}\n",
        2,
        "status.address",
        "the port is missing",
    ),
    (
        "status-code-out-of-range",
        "status: {address: ':1', unavailable_status_code: 42}\n",
        2,
        "status.unavailable_status_code",
        "between 100 and 599, got 42",
    ),
    (
        "status-timeout-duration",
        "status:\n  address: ':1'\n  check_timeout: 1m\n",
        4,
        "status.check_timeout",
        "write check_timeout: 60 instead of '1m'",
    ),
    (
        "status-timeout-text",
        "status:\n  address: ':1'\n  check_timeout: soon\n",
        4,
        "status.check_timeout",
        "expected a whole number of seconds, got 'soon'",
    ),
    (
        "status-timeout-negative",
        "status:\n  address: ':1'\n  check_timeout: -5\n",
        4,
        "status.check_timeout",
        "must not be negative",
    ),
    (
        "status-typo",
        "status:\n  address: ':1'\n  unavailable_code: 500\n",
        4,
        "status.unavailable_code",
        "did you mean 'unavailable_status_code'?",
    ),
    ("metrics-typo-section", "metric: {}\n", 2, "metric", "did you mean 'metrics'?"),
    (
        "metrics-address-int",
        "metrics: {address: 2112}\n",
        2,
        "metrics.address",
        "write ':2112'",
    ),
    (
        "metrics-collect-list",
        "metrics:\n  collect: [a, b]\n",
        3,
        "metrics.collect",
        "expected a map of metric name: settings, got a list",
    ),
    (
        "metric-without-type",
        "metrics:\n  collect:\n    hits:\n      help: x\n",
        4,
        "metrics.collect.hits.type",
        "a metric needs a type: counter, gauge, histogram or summary",
    ),
    (
        "metric-null",
        "metrics:\n  collect:\n    hits:\n",
        4,
        "metrics.collect.hits.type",
        "a metric needs a type",
    ),
    (
        "metric-type-unknown",
        "metrics:\n  collect:\n    hits: {type: meter}\n",
        4,
        "metrics.collect.hits.type",
        "expected one of counter, gauge, histogram, summary, got 'meter'",
    ),
    (
        "metric-type-typo",
        "metrics:\n  collect:\n    hits: {type: countr}\n",
        4,
        "metrics.collect.hits.type",
        "did you mean 'counter'?",
    ),
    (
        "metric-bad-name",
        "metrics:\n  collect:\n    http-hits: {type: counter}\n",
        4,
        "metrics.collect.http-hits",
        "invalid metric name 'http-hits'",
    ),
    (
        "metric-settings-not-a-map",
        "metrics:\n  collect:\n    hits: counter\n",
        4,
        "metrics.collect.hits",
        "expected a map (type, help, labels, ...), got 'counter'",
    ),
    (
        "metric-unknown-key",
        "metrics:\n  collect:\n    hits:\n      type: counter\n      label: [a]\n",
        6,
        "metrics.collect.hits.label",
        "did you mean 'labels'?",
    ),
    (
        "metric-bad-namespace",
        "metrics:\n  collect:\n    hits: {type: counter, namespace: my-app}\n",
        4,
        "metrics.collect.hits.namespace",
        "invalid namespace 'my-app'",
    ),
    (
        "label-invalid",
        "metrics:\n  collect:\n    hits:\n      type: counter\n      labels: [ok, 2xx]\n",
        6,
        "metrics.collect.hits.labels[1]",
        "invalid label name '2xx'",
    ),
    (
        "label-reserved-prefix",
        "metrics:\n  collect:\n    hits: {type: gauge, labels: [__name]}\n",
        4,
        "metrics.collect.hits.labels[0]",
        "names starting with '__' are Prometheus' own",
    ),
    (
        "label-le-in-histogram",
        "metrics:\n  collect:\n    lat: {type: histogram, labels: [route, le]}\n",
        4,
        "metrics.collect.lat.labels[1]",
        "label name 'le' is reserved in histogram metrics",
    ),
    (
        "label-quantile-in-summary",
        "metrics:\n  collect:\n    lat: {type: summary, labels: [quantile]}\n",
        4,
        "metrics.collect.lat.labels[0]",
        "label name 'quantile' is reserved in summary metrics",
    ),
    (
        "label-twice",
        "metrics:\n  collect:\n    hits:\n      type: counter\n      labels: [a, b, a]\n",
        6,
        "metrics.collect.hits.labels[2]",
        "label 'a' is listed twice",
    ),
    (
        "buckets-not-increasing",
        "metrics:\n  collect:\n    lat:\n      type: histogram\n      buckets: [0.1, 1, 0.5]\n",
        6,
        "metrics.collect.lat.buckets[2]",
        "buckets must be in increasing order: 0.5 follows 1",
    ),
    (
        "bucket-not-a-number",
        "metrics:\n  collect:\n    lat:\n      type: histogram\n      buckets: [0.1, fast]\n",
        6,
        "metrics.collect.lat.buckets[1]",
        "expected a number, got 'fast'",
    ),
    (
        "buckets-not-a-list",
        "metrics:\n  collect:\n    lat:\n      type: histogram\n      buckets: 0.5\n",
        6,
        "metrics.collect.lat.buckets",
        "expected a list of numbers",
    ),
    (
        "objective-quantile-out-of-range",
        "metrics:\n  collect:\n    lat:\n      type: summary\n      objectives:\n"
        "        - 1.4: 0.01\n",
        7,
        "metrics.collect.lat.objectives[0].1.4",
        "quantile 1.4 is outside 0..1",
    ),
    (
        "objective-error-out-of-range",
        "metrics:\n  collect:\n    lat:\n      type: summary\n      objectives: {0.9: 2}\n",
        6,
        "metrics.collect.lat.objectives.0.9",
        "the allowed error 2 is outside 0..1",
    ),
    (
        "objective-key-not-a-number",
        "metrics:\n  collect:\n    lat:\n      type: summary\n      objectives: {p99: 0.1}\n",
        6,
        "metrics.collect.lat.objectives.p99",
        "expected a quantile such as 0.99 as the key, got 'p99'",
    ),
    (
        "objective-list-item-not-a-map",
        "metrics:\n  collect:\n    lat:\n      type: summary\n      objectives: [0.5]\n",
        6,
        "metrics.collect.lat.objectives[0]",
        "expected a one-key map such as '0.99: 0.001'",
    ),
    (
        "objectives-not-a-map",
        "metrics:\n  collect:\n    lat:\n      type: summary\n      objectives: 0.5\n",
        6,
        "metrics.collect.lat.objectives",
        "expected a map of quantile: error",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "key_path", "expected"),
    [case[1:] for case in BAD],
    ids=[case[0] for case in BAD],
)
def test_bad_control_section(
    tmp_path: Path, text: str, line: int, key_path: str, expected: str
) -> None:
    path = write(tmp_path, 'version: "3"\n' + text, name="bad.yaml")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    err = info.value
    message = str(err)
    assert err.file == str(path)
    assert (err.line, err.key_path) == (line, key_path), message
    assert err.column is not None and err.column >= 1
    assert expected in err.message, message
    assert message.startswith(f"{path}:{line}:{err.column}: {key_path}: "), message


def test_every_bad_metric_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: "3"
        status: {address: ":1", check_timeout: 5s}
        metrics:
          collect:
            a: {type: meter}
            b: {type: histogram, buckets: [2, 1]}
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert [(e.line, e.key_path) for e in info.value.errors] == [
        (2, "status.check_timeout"),
        (5, "metrics.collect.a.type"),
        (6, "metrics.collect.b.buckets[1]"),
    ]
