"""The jobs plugin's own series (RoadRunner's ``metrics.go``, namespace ``rr_jobs``).

The seven worker series (``rr_jobs_total_workers``...) come from the metrics plugin's pool
collector, as for every pool.  Here: ``rr_jobs_push_ok``, ``rr_jobs_push_err``,
``rr_jobs_jobs_ok``, ``rr_jobs_jobs_err`` (gauges, as upstream exports its counters),
``rr_jobs_requests_total{job,driver,source}`` and the histogram
``rr_jobs_push_latency{job,driver,source}`` (``job`` holds the pipeline name, ``source`` is
``single`` or ``batch``, as upstream labels them).  Plain integers on the hub, turned into
families only when scraped.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from actors.metrics.histogram import Histogram

__all__ = ["LATENCY_BUCKETS", "JobsMetrics"]

#: Prometheus' default buckets (upstream's histogram sets none).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_NS = "rr_jobs"


class JobsMetrics(Collector):
    """Counters the plugin and its pollers bump; registered in the metrics plugin if any."""

    def __init__(self) -> None:
        self.push_ok = 0
        self.push_err = 0
        self.jobs_ok = 0
        self.jobs_err = 0
        self._requests: dict[tuple[str, str, str], int] = {}
        self._latency: dict[tuple[str, str, str], Histogram] = {}

    def pushed(self, pipeline: str, driver: str, source: str, seconds: float | None) -> None:
        """A push request for ``pipeline``; ``seconds`` is None when it failed."""
        key = (pipeline, driver, source)
        self._requests[key] = self._requests.get(key, 0) + 1
        if seconds is None:
            self.push_err += 1
            return
        self.push_ok += 1
        entry = self._latency.get(key)
        if entry is None:
            entry = self._latency[key] = Histogram(LATENCY_BUCKETS)
        entry.observe(seconds)

    def describe(self) -> Iterator[Metric]:
        yield Metric(f"{_NS}_push_ok", "Number of job push", "gauge")
        yield Metric(f"{_NS}_push_err", "Number of jobs push which was failed", "gauge")
        yield Metric(f"{_NS}_jobs_ok", "Number of successfully processed jobs", "gauge")
        yield Metric(
            f"{_NS}_jobs_err", "Number of jobs error while processing in the worker", "gauge"
        )
        yield Metric(f"{_NS}_requests", "Total number of push requests", "counter")
        yield Metric(f"{_NS}_push_latency", "Histogram represents latency for pushed operation",
                     "histogram")  # fmt: skip

    def collect(self) -> Iterator[Metric]:
        push_ok, push_err, jobs_ok, jobs_err, requests, latency = self.describe()
        push_ok.add_sample(push_ok.name, {}, self.push_ok)
        push_err.add_sample(push_err.name, {}, self.push_err)
        jobs_ok.add_sample(jobs_ok.name, {}, self.jobs_ok)
        jobs_err.add_sample(jobs_err.name, {}, self.jobs_err)
        for (job, driver, source), count in sorted(self._requests.items()):
            labels = {"job": job, "driver": driver, "source": source}
            requests.add_sample(f"{_NS}_requests_total", labels, count)
        for (job, driver, source), entry in sorted(self._latency.items()):
            labels = {"job": job, "driver": driver, "source": source}
            entry.add_samples(latency, labels)
        return iter((push_ok, push_err, jobs_ok, jobs_err, requests, latency))
