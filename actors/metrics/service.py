"""The ``metrics`` RPC service (``metrics.Declare|Add|Sub|Set|Observe|Unregister``).

Methods take the decoded JSON argument that ``Spiral\\RoadRunner\\Metrics\\Metrics`` (PHP) sends
and return what ``roadrunner-server/metrics`` ``rpc.go`` returns: ``True``, or a
:class:`MetricsError` whose text is upstream's error text (``<op>: <message>``), so PHP code
that matches on it keeps working.  Type rules are upstream's: ``Add`` on counters and gauges,
``Sub``/``Set`` on gauges, ``Observe`` on histograms and summaries; a labelled collector needs
label values, as many as it was declared with.  Collectors are found by the ``name`` they were
declared with (not the namespaced name), as upstream does.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from prometheus_client.registry import CollectorRegistry

from actors.metrics.declared import TYPES, CollectorSpec, Declared

__all__ = ["MetricsError", "MetricsService", "parse_spec"]

log = logging.getLogger("greenrunner.metrics")


#: Go's legacy name rules, which the 0.0.4 text format needs (prometheus_client would accept
#: UTF-8 names that this format cannot carry).
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class MetricsError(Exception):
    """A metrics RPC failed; ``str()`` is RoadRunner's error text (``op: message``)."""

    def __init__(self, op: str, message: str) -> None:
        super().__init__(f"{op}: {message}")
        self.op = op
        self.message = message


def _fields(value: Any, what: str, op: str) -> dict[str, Any]:
    """A JSON object's keys, lower-cased: Go's decoder matches field names case-insensitively."""
    if not isinstance(value, Mapping):
        raise MetricsError(op, f"{what} must be a JSON object, got {type(value).__name__}")
    return {str(k).lower(): v for k, v in value.items()}


def _strings(value: Any, what: str, op: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MetricsError(op, f"{what} must be a list of strings, got {value!r}")
    return tuple(value)


def _number(value: Any, what: str, op: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MetricsError(op, f"{what} must be a number, got {value!r}")
    return float(value)


def parse_spec(data: Any, op: str = "metrics_plugin_declare") -> CollectorSpec:
    """A ``collector`` object (or a ``metrics.collect.<name>`` config entry) → spec."""
    f = _fields(data, "collector", op)
    buckets = f.get("buckets") or []
    if not isinstance(buckets, list):
        raise MetricsError(op, f"buckets must be a list of numbers, got {buckets!r}")
    objectives = f.get("objectives") or {}
    if not isinstance(objectives, Mapping):
        raise MetricsError(op, f"objectives must be an object, got {objectives!r}")
    try:
        parsed_objectives = {float(k): _number(v, "objective", op) for k, v in objectives.items()}
    except ValueError:
        raise MetricsError(op, f"objectives keys must be numbers, got {objectives!r}") from None
    for key in ("type", "help", "namespace", "subsystem"):
        if not isinstance(f.get(key) or "", str):
            raise MetricsError(op, f"{key} must be a string, got {f.get(key)!r}")
    return CollectorSpec(
        type=f.get("type") or "",
        help=f.get("help") or "",
        namespace=f.get("namespace") or "",
        subsystem=f.get("subsystem") or "",
        labels=_strings(f.get("labels"), "labels", op),
        buckets=tuple(_number(b, "bucket", op) for b in buckets),
        objectives=parsed_objectives,
    )


class MetricsService:
    """Application collectors of one registry, by declared name.

    The methods carry the RPC method names (``metrics.Add`` → :meth:`Add`), so an RPC
    dispatcher maps them one to one.

    Every method runs in the calling greenlet and never yields, so the collector table has one
    owner at a time without a lock.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.collectors: dict[str, Declared] = {}

    # -- declaration -----------------------------------------------------------------------

    def declare_collect(self, collect: Mapping[str, Any]) -> None:
        """Pre-declare ``metrics.collect`` (``{name: {type, help, labels, ...}}``).

        Raises :class:`MetricsError` naming the entry; an unknown type says
        ``invalid metric type `<type>` for `<name>``` like upstream's config check.
        """
        for name, data in collect.items():
            spec = parse_spec(data, "metrics_plugin_init")
            if spec.type not in TYPES:
                raise MetricsError(
                    "metrics_plugin_init", f"invalid metric type `{spec.type}` for `{name}`"
                )
            self._register("metrics_plugin_init", str(name), spec)

    def Declare(self, arg: Any) -> bool:
        """``{"name", "collector": {...}}``; an existing name is kept and answered ``True``."""
        op = "metrics_plugin_declare"
        f = _fields(arg, "argument", op)
        name = f.get("name")
        if not isinstance(name, str) or not name:
            raise MetricsError(op, f"name must be a non-empty string, got {name!r}")
        spec = parse_spec(f.get("collector") or {}, op)
        if name in self.collectors:
            log.warning(
                "metric with provided name already exist",
                extra={"fields": {"name": name, "type": spec.type, "namespace": spec.namespace}},
            )
            return True
        if spec.type not in TYPES:
            raise MetricsError(op, f"unknown collector type {spec.type}")
        self._register(op, name, spec)
        return True

    def _register(self, op: str, name: str, spec: CollectorSpec) -> None:
        full = spec.full_name(name)
        if not _METRIC_NAME.match(full):
            raise MetricsError(op, f'"{full}" is not a valid metric name')
        for label in spec.labels:
            if not _LABEL_NAME.match(label) or label.startswith("__"):
                raise MetricsError(op, f'"{label}" is not a valid label name for metric "{full}"')
        try:
            declared = Declared(name, spec)
        except ValueError as exc:  # invalid metric or label name
            raise MetricsError(op, str(exc)) from None
        try:
            self.registry.register(declared)
        except ValueError:
            raise MetricsError(
                op,
                f"duplicate metrics collector registration attempted: "
                f"{declared.full_name} is already exposed",
            ) from None
        self.collectors[name] = declared

    def Unregister(self, name: Any) -> bool:
        """Remove a collector; its series disappear from the exposition."""
        op = "metrics_plugin_unregister"
        declared = self.collectors.pop(name, None) if isinstance(name, str) else None
        if declared is None:
            raise MetricsError(op, f"undefined collector {name}")
        self.registry.unregister(declared)
        return True

    # -- values ----------------------------------------------------------------------------

    def Add(self, arg: Any) -> bool:
        """Counters and gauges."""
        op = "metrics_plugin_add"
        name, value, labels = self._metric(arg, op)
        declared = self.collectors.get(name)
        if declared is None:
            raise MetricsError(
                op, f"undefined collector {name}, try first Declare the desired collector"
            )
        kind = declared.spec.type
        if kind == "gauge":
            self._child(declared, labels, op, f"required labels for collector {name}").inc(value)
        elif kind == "counter":
            if value < 0:
                # Go's Counter.Add panics on a decrease; refuse it instead of dying.
                raise MetricsError(op, "counter cannot decrease in value")
            child = self._child(declared, labels, op, f"required labels for collector `{name}`")
            child.inc(value)
        else:
            raise MetricsError(op, f"collector {name} does not support method `Add`")
        return True

    def Sub(self, arg: Any) -> bool:
        """Gauges only."""
        op = "metrics_plugin_sub"
        name, value, labels = self._metric(arg, op)
        declared = self._known(name, op)
        if declared.spec.type != "gauge":
            raise MetricsError(op, f"collector `{name}` does not support method `Sub`")
        self._child(declared, labels, op, f"required labels for collector {name}").dec(value)
        return True

    def Set(self, arg: Any) -> bool:
        """Gauges only."""
        op = "metrics_plugin_set"
        name, value, labels = self._metric(arg, op)
        declared = self._known(name, op)
        if declared.spec.type != "gauge":
            raise MetricsError(op, f"collector `{name}` does not support method Set")
        self._child(declared, labels, op, f"required labels for collector {name}").set(value)
        return True

    def Observe(self, arg: Any) -> bool:
        """Histograms and summaries."""
        op = "metrics_plugin_observe"
        name, value, labels = self._metric(arg, op)
        declared = self._known(name, op)
        if declared.spec.type not in ("histogram", "summary"):
            raise MetricsError(op, f"collector `{name}` does not support method `Observe`")
        self._child(declared, labels, op, f"required labels for collector `{name}`").observe(value)
        return True

    # -- helpers -----------------------------------------------------------------------------

    @staticmethod
    def _metric(arg: Any, op: str) -> tuple[str, float, tuple[str, ...]]:
        f = _fields(arg, "argument", op)
        name = f.get("name")
        if not isinstance(name, str):
            raise MetricsError(op, f"name must be a string, got {name!r}")
        value = _number(f.get("value", 0), "value", op)
        return name, value, _strings(f.get("labels"), "labels", op)

    def _known(self, name: str, op: str) -> Declared:
        declared = self.collectors.get(name)
        if declared is None:
            raise MetricsError(op, f"undefined collector {name}")
        return declared

    @staticmethod
    def _child(declared: Declared, labels: tuple[str, ...], op: str, missing: str) -> Any:
        if not declared.vector:
            return declared.metric  # labels given to a plain collector are ignored, as upstream
        if not labels:
            raise MetricsError(op, missing)
        expected = len(declared.spec.labels)
        if len(labels) != expected:
            shown = ", ".join(f'"{v}"' for v in labels)
            raise MetricsError(
                op,
                f"inconsistent label cardinality: expected {expected} label values "
                f"but got {len(labels)} in []string{{{shown}}}",
            )
        return declared.child(labels)
