"""One Prometheus histogram series kept by hand: observations in, cumulative samples out.

The http and jobs collectors keep a histogram per label set (status; pipeline, driver, source)
on the request path; a bucket index and three additions per observation, no lock (one hub).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from prometheus_client.metrics_core import Metric

__all__ = ["Histogram"]


class Histogram:
    """Count, sum and per-bucket (non-cumulative) counts of one label set's observations."""

    __slots__ = ("bounds", "buckets", "count", "total")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = bounds
        self.count = 0
        self.total = 0.0
        self.buckets = [0] * (len(bounds) + 1)  # the last one is +Inf

    def observe(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.buckets[bisect.bisect_left(self.bounds, value)] += 1

    def add_samples(self, metric: Metric, labels: dict[str, str]) -> None:
        """The ``_bucket`` (cumulative, with ``le``), ``_sum`` and ``_count`` samples."""
        cumulative = 0
        for bound, hits in zip((*self.bounds, float("inf")), self.buckets, strict=True):
            cumulative += hits
            metric.add_sample(f"{metric.name}_bucket", {**labels, "le": repr(bound)}, cumulative)
        metric.add_sample(f"{metric.name}_sum", labels, self.total)
        metric.add_sample(f"{metric.name}_count", labels, self.count)
