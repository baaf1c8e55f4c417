"""The ``http_metrics`` middleware's series (RoadRunner's ``prometheus`` plugin).

Called on the request path, so each method is a few dict and integer operations on plain
Python state (no lock: every caller is a greenlet of the one hub, and none of these yields);
the Prometheus families are built only when scraped.  Series appear as upstream's do: the
request counter and histogram once a status was seen, ``rr_http_no_free_workers_total`` after
the first occurrence, ``rr_http_uptime_seconds`` after the first second.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from actors.metrics.histogram import Histogram

__all__ = ["REQUEST_BUCKETS", "HttpMetrics"]

#: ``rr_http_request_duration_seconds`` buckets (RoadRunner's, extended to 60 s).
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)

_NS = "rr_http"


class HttpMetrics(Collector):
    """Register it in the system's registry; the http plugin calls the three methods."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._started = clock()
        #: Requests inside the middleware right now (``rr_http_requests_queue``).
        self.queue = 0
        self.no_free = 0
        self._by_status: dict[str, Histogram] = {}

    # -- request path ----------------------------------------------------------------------

    def request_started(self) -> None:
        """A request entered the middleware."""
        self.queue += 1

    def request_finished(self, status: int, seconds: float) -> None:
        """It left with ``status`` (-1 when no status was written) after ``seconds``."""
        self.queue -= 1
        key = str(status)
        entry = self._by_status.get(key)
        if entry is None:
            entry = self._by_status[key] = Histogram(REQUEST_BUCKETS)
        entry.observe(seconds)

    def no_free_workers(self) -> None:
        """The handler answered ``No-Workers: true`` (no worker within allocate_timeout)."""
        self.no_free += 1

    # -- scrape ------------------------------------------------------------------------------

    def describe(self) -> Iterator[Metric]:
        yield Metric(f"{_NS}_requests_queue", "Total number of queued requests.", "gauge")
        yield Metric(
            f"{_NS}_no_free_workers", "Total number of NoFreeWorkers occurrences.", "counter"
        )
        yield Metric(
            f"{_NS}_request",
            "Total number of handled http requests after server restart.",
            "counter",
        )
        yield Metric(f"{_NS}_request_duration_seconds", "HTTP request duration.", "histogram")
        yield Metric(f"{_NS}_uptime_seconds", "Uptime in seconds", "counter")

    def collect(self) -> Iterator[Metric]:
        queue, no_free, requests, duration, uptime = self.describe()
        queue.add_sample(queue.name, {}, self.queue)
        if self.no_free:
            no_free.add_sample(f"{_NS}_no_free_workers_total", {}, self.no_free)
        for status, entry in sorted(self._by_status.items()):
            labels = {"status": status}
            requests.add_sample(f"{_NS}_request_total", labels, entry.count)
            entry.add_samples(duration, labels)
        seconds = int(self._clock() - self._started)
        if seconds >= 1:
            uptime.add_sample(uptime.name, {}, seconds)
        return iter((queue, no_free, requests, duration, uptime))
