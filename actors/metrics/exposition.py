"""The Prometheus text format (0.0.4) exactly as RoadRunner's Go client writes it.

``prometheus_client.generate_latest`` differs from Go's ``promhttp`` where dashboards notice:
it renames every counter to ``<name>_total`` (RoadRunner's ``rr_http_uptime_seconds`` and an
application's ``registered_users`` counter keep their names in Go), adds ``<name>_created``
series, and prints ``1.0`` where Go prints ``1`` (also in ``le`` labels).  So the families come
from ``CollectorRegistry.collect()`` as usual and only the text is written here, Go's way:

* a counter family is named after its samples (``x_total`` for prometheus_client counters, the
  declared name for the counters of :mod:`actors.metrics.declared`), ``_created`` samples dropped;
* families sorted by name, empty ones (a labelled vector never used) left out;
* numbers formatted like Go's ``strconv.FormatFloat(v, 'g', -1, 64)``; label pairs sorted by
  name with ``le``/``quantile`` last.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Sample

__all__ = ["CONTENT_TYPE", "go_float", "render"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_TYPES = {
    "counter": "counter",
    "gauge": "gauge",
    "histogram": "histogram",
    "summary": "summary",
    "gaugehistogram": "histogram",
    "stateset": "gauge",
    "info": "gauge",
    "unknown": "untyped",
}
_LAST = ("le", "quantile")


def go_float(value: float) -> str:
    """``value`` as Go's ``FormatFloat(v, 'g', -1, 64)``: ``1``, ``2.5``, ``1e+06``, ``+Inf``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(float(value))).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    exponent = int(exponent)  # finite here, so never 'n'/'N'/'F'
    # Decimal point position relative to the start of the significant digits.
    point = len(digits) + exponent
    exp10 = point - 1
    minus = "-" if sign else ""
    if exp10 < -4 or exp10 >= 6:
        # For the shortest form ('g', -1) Go switches to %e at a decimal exponent of 6.
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{minus}{mantissa}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    if point <= 0:
        return f"{minus}0.{'0' * -point}{text}"
    if point >= len(text):
        return f"{minus}{text}{'0' * (point - len(text))}"
    return f"{minus}{text[:point]}.{text[point:]}"


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _escape_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    pairs = sorted((k, v) for k, v in labels.items() if k not in _LAST)
    for key in _LAST:
        if key in labels:
            pairs.append((key, go_float(float(labels[key]))))
    return "{" + ",".join(f'{k}="{_escape_value(v)}"' for k, v in pairs) + "}"


def _family(metric: Metric) -> tuple[str, str, list[Sample]] | None:
    created = metric.name + "_created"
    samples = [s for s in metric.samples if s.name != created]
    if not samples:
        return None
    kind = _TYPES.get(metric.type, "untyped")
    if metric.type == "counter":
        name = samples[0].name
    elif metric.type == "info":
        name = metric.name + "_info"
    else:
        name = metric.name
    return name, kind, samples


def render(registry: Any) -> bytes:
    """The exposition of every family ``registry.collect()`` yields."""
    families: list[tuple[str, str, str, list[Sample]]] = []
    for metric in registry.collect():
        family = _family(metric)
        if family is not None:
            families.append((family[0], family[1], metric.documentation, family[2]))
    families.sort(key=lambda f: f[0])
    out: list[str] = []
    for name, kind, doc, samples in families:
        out.append(f"# HELP {name} {_escape_help(doc)}\n# TYPE {name} {kind}\n")
        out.extend(_sample_lines(samples))
    return "".join(out).encode("utf-8")


def _sample_lines(samples: Iterable[Sample]) -> Iterable[str]:
    for s in samples:
        yield f"{s.name}{_labels(s.labels)} {go_float(s.value)}\n"
