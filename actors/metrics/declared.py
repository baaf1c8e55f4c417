"""Application metrics: one declared collector (``metrics.collect`` or ``metrics.Declare``).

The values live in prometheus_client's own metric objects (thread-safe, label-checked, with
the usual counter/gauge/histogram/summary semantics), created without a registry; a
:class:`Declared` wraps one and is what gets registered, so that it is exposed under the name
RoadRunner gives it (a counter named ``registered_users`` stays ``registered_users``; see
``exposition.py``), and so that ``Unregister`` can take it out again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter, Gauge, Histogram, Summary
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

__all__ = ["GO_DEFAULT_BUCKETS", "TYPES", "CollectorSpec", "Declared"]

#: Go's ``prometheus.DefBuckets``, used when a histogram is declared without buckets
#: (prometheus_client's own default list is different).
GO_DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TYPES = ("histogram", "gauge", "counter", "summary")


@dataclass(frozen=True)
class CollectorSpec:
    """RoadRunner's ``Collector`` (the ``collector`` object of ``metrics.Declare``)."""

    type: str
    help: str = ""
    namespace: str = ""
    subsystem: str = ""
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()
    #: Summary quantile objectives; accepted for compatibility, not computed (prometheus_client
    #: summaries expose only ``_sum`` and ``_count``).
    objectives: Mapping[float, float] = field(default_factory=dict)

    def full_name(self, name: str) -> str:
        """Go's ``BuildFQName``: the non-empty parts joined by ``_``."""
        return "_".join(p for p in (self.namespace, self.subsystem, name) if p)


class Declared(Collector):
    """One application collector, registered in (and removable from) a CollectorRegistry."""

    def __init__(self, name: str, spec: CollectorSpec) -> None:
        self.name = name
        self.spec = spec
        self.full_name = spec.full_name(name)
        self.vector = bool(spec.labels)
        kwargs: dict[str, Any] = {
            "name": name,
            "documentation": spec.help,
            "labelnames": spec.labels,
            "namespace": spec.namespace,
            "subsystem": spec.subsystem,
            "registry": None,
        }
        metric: MetricWrapperBase
        if spec.type == "counter":
            metric = Counter(**kwargs)
        elif spec.type == "gauge":
            metric = Gauge(**kwargs)
        elif spec.type == "histogram":
            metric = Histogram(**kwargs, buckets=spec.buckets or GO_DEFAULT_BUCKETS)
        elif spec.type == "summary":
            metric = Summary(**kwargs)
        else:
            raise ValueError(f"unknown collector type {spec.type}")
        self.metric = metric

    def child(self, values: Sequence[str]) -> Any:
        """The series for ``values`` (the metric itself when it has no labels)."""
        return self.metric.labels(*values) if self.vector else self.metric

    def describe(self) -> Iterator[Metric]:
        return self._families()

    def collect(self) -> Iterator[Metric]:
        return self._families()

    def _families(self) -> Iterator[Metric]:
        for family in self.metric.collect():
            if family.type != "counter":
                yield family
                continue
            # Expose the counter under its declared name, as Go does (no forced ``_total``).
            total = family.name + "_total"
            renamed = Metric(family.name, family.documentation, "counter")
            renamed.samples = [
                Sample(self.full_name, s.labels, s.value) if s.name == total else s
                for s in family.samples
            ]
            yield renamed
