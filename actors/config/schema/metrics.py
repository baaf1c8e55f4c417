"""``metrics``: the Prometheus endpoint and the application metrics declared under
``metrics.collect`` (RoadRunner's metrics plugin).

What the Prometheus client would refuse when the server registers a collector
(a bad metric or label name, a reserved or repeated label, buckets out of
order, a quantile outside 0..1) is an error here instead, with the line.
Settings that do not apply to a metric's type (``buckets`` on a counter) are
dropped with a warning: RoadRunner ignores them silently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, post_load

from actors.config.errors import describe
from actors.config.model import (
    DEFAULT_METRICS_ADDRESS,
    METRIC_TYPES,
    CollectorConfig,
    MetricsConfig,
)
from actors.config.schema.addresses import Address, parse_address
from actors.config.schema.base import SectionSchema
from actors.config.schema.fields import BaseField, Choice, Str, messages_of, str_list
from actors.config.schema.paths import pushed, warn

__all__ = ["CollectorSchema", "MetricsSchema"]

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NAME_RULE = "letters, digits, '_' and ':', not starting with a digit"
#: Labels the Prometheus client adds itself to these types.
_RESERVED_LABEL = {"histogram": "le", "summary": "quantile"}


def _metric_type(data: Mapping[str, Any] | None) -> str:
    """The collector's ``type`` as written (normalised like :class:`Choice` does), for
    checks that depend on it; ``""`` when missing or not a string."""
    value = (data or {}).get("type")
    return value.strip().lower() if isinstance(value, str) else ""


def _to_float(value: object) -> float:
    """A number; numeric strings (from ``${VAR}``) too, not booleans."""
    if isinstance(value, bool):
        raise ValidationError(f"expected a number, got {describe(value)}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return float(value.strip())
    raise ValidationError(f"expected a number, got {describe(value)}")


class _PromName(Str):
    """``namespace`` / ``subsystem``: parts of the exposed name, so the same rule applies."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if text and not _NAME.fullmatch(text):
            raise ValidationError(f"invalid {self.key} {text!r}: use {_NAME_RULE}")
        return text


class _Labels(BaseField):
    """Label names of a vector metric: valid, not reserved, not repeated."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        names = str_list(value)
        reserved = _RESERVED_LABEL.get(_metric_type(data))
        errors: dict[int, list[str]] = {}
        seen: set[str] = set()
        for index, name in enumerate(names):
            if not _LABEL.fullmatch(name):
                problem = (
                    f"invalid label name {name!r}: use letters, digits and '_', "
                    "not starting with a digit"
                )
            elif name.startswith("__"):
                problem = (
                    f"label name {name!r} is reserved: names starting with '__' are Prometheus' own"
                )
            elif name == reserved:
                problem = f"label name {name!r} is reserved in {_metric_type(data)} metrics"
            elif name in seen:
                problem = f"label {name!r} is listed twice"
            else:
                seen.add(name)
                continue
            errors[index] = [problem]
        if errors:
            raise ValidationError(errors)
        return names


class _Buckets(BaseField):
    """Histogram bucket upper bounds, strictly increasing (the Prometheus client
    refuses others); on other types RoadRunner only decodes them, so only their
    numbers are checked."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[float]:
        if not isinstance(value, list):
            raise ValidationError(f"expected a list of numbers, got {describe(value)}")
        histogram = _metric_type(data) == "histogram"
        bounds: list[float] = []
        errors: dict[int, list[str]] = {}
        for index, item in enumerate(value):
            try:
                bound = _to_float(item)
            except ValidationError as exc:
                errors[index] = messages_of(exc)
                continue
            if histogram and bounds and not bound > bounds[-1]:
                errors[index] = [
                    f"buckets must be in increasing order: {bound:g} follows {bounds[-1]:g}"
                ]
            bounds.append(bound)
        if errors:
            raise ValidationError(errors)
        if not histogram and bounds:
            warn(self.path(), "buckets only apply to histogram metrics; ignored")
            return []
        return bounds


class _Objectives(BaseField):
    """Summary objectives, ``quantile: allowed error``: a map, or (as RoadRunner's docs
    write it) a list of one-key maps."""

    def _pair(self, key: object, value: object, *, summary: bool) -> tuple[float, float]:
        """One objective: two numbers, which for a summary must lie in 0..1 (a quantile
        and an error); for other types RoadRunner only decodes them, so neither do we."""
        try:
            quantile = _to_float(key)
        except ValidationError:
            raise ValidationError(
                f"expected a quantile such as 0.99 as the key, got {describe(key)}"
            ) from None
        error = _to_float(value)
        if summary and not 0 <= quantile <= 1:
            raise ValidationError(
                f"quantile {quantile:g} is outside 0..1 (0.99: 0.001 means the 99th "
                "percentile, within 0.001)"
            )
        if summary and not 0 <= error <= 1:
            raise ValidationError(f"the allowed error {error:g} is outside 0..1")
        return quantile, error

    def _map(
        self, mapping: dict[Any, Any], out: dict[float, float], *, summary: bool
    ) -> dict[Any, Any]:
        errors: dict[Any, Any] = {}
        for key, value in mapping.items():
            try:
                quantile, error = self._pair(key, value, summary=summary)
            except ValidationError as exc:
                errors[key] = exc.messages
            else:
                out[quantile] = error
        return errors

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> dict[float, float]:
        summary = _metric_type(data) == "summary"
        out: dict[float, float] = {}
        if isinstance(value, dict):
            errors = self._map(value, out, summary=summary)
        elif isinstance(value, list):
            errors = {}
            for index, item in enumerate(value):
                if not isinstance(item, dict) or len(item) != 1:
                    shown = describe(item) if not isinstance(item, dict) else f"{len(item)} keys"
                    errors[index] = [f"expected a one-key map such as '0.99: 0.001', got {shown}"]
                    continue
                item_errors = self._map(item, out, summary=summary)
                if item_errors:
                    errors[index] = item_errors
        else:
            raise ValidationError(
                f"expected a map of quantile: error (e.g. 0.99: 0.001), got {describe(value)}"
            )
        if errors:
            raise ValidationError(errors)
        if not summary and out:
            warn(self.path(), "objectives only apply to summary metrics; ignored")
            return {}
        return out


class CollectorSchema(SectionSchema):
    """One entry of ``metrics.collect``; the metric's name is its key."""

    type = Choice(
        METRIC_TYPES,
        required=True,
        required_message="a metric needs a type: counter, gauge, histogram or summary",
    )
    help = Str()
    namespace = _PromName()
    subsystem = _PromName()
    labels = _Labels()
    buckets = _Buckets()
    objectives = _Objectives()

    def __init__(self, name: str) -> None:
        super().__init__()
        self.metric_name = name

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> CollectorConfig:
        return CollectorConfig(name=self.metric_name, **data)


class _Collect(BaseField):
    """``metrics.collect``: metric name → :class:`CollectorSchema`."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> dict[str, CollectorConfig]:
        if not isinstance(value, dict):
            raise ValidationError(f"expected a map of metric name: settings, got {describe(value)}")
        out: dict[str, CollectorConfig] = {}
        errors: dict[str, Any] = {}
        with pushed(self.key):
            for key, settings in value.items():
                name = str(key)
                if not _NAME.fullmatch(name):
                    errors[key] = [f"invalid metric name {name!r}: use {_NAME_RULE}"]
                    continue
                if settings is None:
                    settings = {}
                if not isinstance(settings, dict):
                    errors[key] = [
                        "expected a map (type, help, labels, ...), got " + describe(settings)
                    ]
                    continue
                with pushed(name):
                    try:
                        out[name] = CollectorSchema(name).load(settings)
                    except ValidationError as exc:
                        errors[key] = exc.messages
        if errors:
            raise ValidationError(errors)
        return out


class _AddressOrDefault(Address):
    """``metrics.address``; an empty value (an unset ``${VAR}``) means the default,
    as RoadRunner's ``InitDefaults`` does."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> tuple[str, str, int]:
        if isinstance(value, str) and not value.strip():
            return parse_address(DEFAULT_METRICS_ADDRESS)
        return super()._deserialize(value, attr, data, **kwargs)


class MetricsSchema(SectionSchema):
    """``metrics``: the section's presence enables the endpoint (default address
    ``127.0.0.1:2112``, as in RoadRunner)."""

    address = _AddressOrDefault()
    collect = _Collect()

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> MetricsConfig:
        address = data["address"][0] if "address" in data else DEFAULT_METRICS_ADDRESS
        return MetricsConfig(address=address, collect=data.get("collect", {}))
