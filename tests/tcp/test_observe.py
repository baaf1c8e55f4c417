"""The tcp pool is a pool like any other: rr_tcp_* series, status probes, informer."""

from __future__ import annotations

import json

from tests.support.http_client import fetch as get
from tests.tcp.harness import TcpHarness


def test_metrics_status_and_informer_see_the_tcp_pool(tcp: TcpHarness) -> None:
    system = tcp.start(
        rpc=True,
        sections={
            "metrics": {"address": "127.0.0.1:0"},
            "status": {"address": "127.0.0.1:0"},
        },
    )
    client = tcp.connect()
    assert client.ask(b"hi\r\n") == b"hi\r\n"
    status, body = get(system.metrics.server.address, "/metrics")
    assert status == 200
    series = dict(
        line.rpartition(" ")[::2]
        for line in body.decode().splitlines()
        if line.startswith("rr_tcp_")
    )
    assert float(series["rr_tcp_total_workers"]) == 2, series
    assert float(series["rr_tcp_workers_ready"]) == 2, series
    status, body = get(system.status.server.address, "/ready?plugin=tcp")
    assert status == 200, body
    assert json.loads(body)[0]["plugin_name"] == "tcp"
    assert "tcp" in tcp.rpc("resetter.List", None)
    assert "tcp" in tcp.rpc("informer.List", None)
