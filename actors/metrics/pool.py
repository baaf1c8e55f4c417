"""The seven worker series of a pool owner (RoadRunner's ``StatsExporter``).

Read live from the pool at scrape time (``workers`` is e.g. ``Pool.workers``), so nothing is
kept between scrapes and nothing runs on the request path.  Names are ``rr_<plugin>_...``;
``rr_<plugin>_worker_state`` is always 0, the state is in its label (RoadRunner's choice).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["PoolCollector"]

log = logging.getLogger("greenrunner.metrics")

WorkersSource = Callable[[], Sequence[Mapping[str, Any]]]


class PoolCollector(Collector):
    """``rr_<plugin>_total_workers``, ``_workers_memory_bytes``, ``_worker_state{state,pid}``,
    ``_worker_memory_bytes{pid}``, ``_workers_ready``, ``_workers_working``, ``_workers_invalid``
    (every state other than ready and working)."""

    def __init__(self, plugin_name: str, workers: WorkersSource) -> None:
        self.plugin_name = plugin_name
        self.prefix = f"rr_{plugin_name}"
        self.workers = workers

    def _families(self) -> tuple[GaugeMetricFamily, ...]:
        p = self.prefix
        return (
            GaugeMetricFamily(f"{p}_total_workers", "Total number of workers used by the plugin"),
            GaugeMetricFamily(f"{p}_workers_memory_bytes", "Memory usage by workers"),
            GaugeMetricFamily(f"{p}_worker_state", "Worker current state", labels=["state", "pid"]),
            GaugeMetricFamily(
                f"{p}_worker_memory_bytes", "Worker current memory usage", labels=["pid"]
            ),
            GaugeMetricFamily(f"{p}_workers_ready", "Workers currently in ready state"),
            GaugeMetricFamily(f"{p}_workers_working", "Workers currently in working state"),
            GaugeMetricFamily(
                f"{p}_workers_invalid",
                "Workers currently in invalid,killing,destroyed,errored,inactive states",
            ),
        )

    def describe(self) -> Iterator[Metric]:
        """The names, for the registry's clash check (without asking the pool)."""
        return iter(self._families())

    def collect(self) -> Iterator[Metric]:
        try:
            workers = list(self.workers())
        except Exception:
            # One broken source must not fail the whole scrape: report an empty pool.
            log.exception("metrics: reading the %s workers failed", self.plugin_name)
            workers = []
        total, memory, state, worker_memory, ready, working, invalid = self._families()
        cumulative = 0.0
        counts = {"ready": 0, "working": 0}
        others = 0
        for w in sorted(workers, key=lambda w: int(w.get("pid", 0))):
            pid = str(w.get("pid", 0))
            rss = float(w.get("memoryUsage", 0) or 0)
            status = str(w.get("statusStr", ""))
            cumulative += rss
            state.add_metric([status, pid], 0)
            worker_memory.add_metric([pid], rss)
            if status in counts:
                counts[status] += 1
            else:
                others += 1
        total.add_metric([], len(workers))
        memory.add_metric([], cumulative)
        ready.add_metric([], counts["ready"])
        working.add_metric([], counts["working"])
        invalid.add_metric([], others)
        return iter((total, memory, state, worker_memory, ready, working, invalid))
