"""``jobs``: RoadRunner's jobs plugin (``roadrunner-server/jobs`` ``config.go``).

``pool``, ``num_pollers`` (0: ``num_workers + 2``), ``pipeline_size`` (1,000,000),
``timeout`` (seconds, 60), ``consume`` (pipelines consumed from the start) and
``pipelines.<name>``.  A pipeline's keys may sit at its top level or under ``config:``
(RoadRunner >= 2.7 reads ``config:``; older files put them beside ``driver``); both are
merged, ``config:`` winning, then validated by :data:`PIPELINE_SCHEMAS` ``[driver]``.

The contract with a driver's schema: a :class:`SectionSchema` class whose ``post_load``
returns the driver's config dataclass from :mod:`actors.config.model`, which has ``name``,
``driver`` and ``priority``.  ``name`` and ``driver`` are filled in here: passed to the schema
if it declares them as fields, else set on the dataclass after loading.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from marshmallow import ValidationError, post_load

from actors.config.errors import describe
from actors.config.model import JobsConfig, MemoryPipelineConfig
from actors.config.schema.amqp import AmqpPipelineSchema
from actors.config.schema.base import Section, SectionSchema
from actors.config.schema.fields import BaseField, Int, Str, StrList
from actors.config.schema.paths import did_you_mean, pushed, warn
from actors.config.schema.pool import PoolSchema

__all__ = [
    "PIPELINE_SCHEMAS",
    "UNSUPPORTED_DRIVERS",
    "JobsSchema",
    "MemoryPipelineSchema",
    "unknown_driver_message",
]

#: RoadRunner drivers Greenrunner does not have (yet): named in the error so a user knows
#: the config is right for RoadRunner and only this server lacks the driver.
UNSUPPORTED_DRIVERS = frozenset(
    {"beanstalk", "nats", "sqs", "kafka", "boltdb", "gcp-pubsub", "gcp_pubsub", "google-pub-sub"}
)


class MemoryPipelineSchema(SectionSchema):
    """``driver: memory``: ``priority`` (0 → 10) and ``prefetch`` (0 → 100,000)."""

    name = Str(required=True)
    driver = Str(required=True)
    priority = Int(minimum=None, zero=10)
    prefetch = Int(zero=100_000)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> MemoryPipelineConfig:
        return MemoryPipelineConfig(**data)


#: Pipeline schema by driver name; the integrator adds ``"amqp"``.
PIPELINE_SCHEMAS: dict[str, type[SectionSchema]] = {
    "memory": MemoryPipelineSchema,
    "amqp": AmqpPipelineSchema,
}


def unknown_driver_message(driver: str) -> str:
    """What to say about a ``driver`` no schema knows (shared with ``jobs.Declare``)."""
    known = ", ".join(sorted(PIPELINE_SCHEMAS))
    if driver in UNSUPPORTED_DRIVERS:
        return (
            f"driver {driver} is a RoadRunner driver not supported by Greenrunner yet; "
            f"use one of: {known}"
        )
    if not driver:
        return f"the pipeline has no driver: add driver: <name> (one of: {known})"
    return f"unknown driver {driver!r}{did_you_mean(driver, PIPELINE_SCHEMAS)}; known: {known}"


def merge_pipeline(name: str, settings: dict[str, Any]) -> dict[str, Any]:
    """A pipeline's keys from its top level and its ``config:`` (which wins), plus its name."""
    inner = settings.get("config") or {}
    if not isinstance(inner, dict):
        raise ValidationError({"config": [f"expected a map, got {describe(inner)}"]})
    merged = {str(k): v for k, v in settings.items() if k != "config"}
    merged.update({str(k): v for k, v in inner.items()})
    merged["name"] = name
    return merged


def load_pipeline(name: str, settings: dict[str, Any]) -> Any:
    """Validate one pipeline with its driver's schema; ``ValidationError`` naming the driver."""
    merged = merge_pipeline(name, settings)
    driver = str(merged.get("driver") or "").strip()
    schema = PIPELINE_SCHEMAS.get(driver)
    if schema is None:
        raise ValidationError({"driver": [unknown_driver_message(driver)]})
    merged["driver"] = driver
    loader = schema()
    for key in ("name", "driver"):  # filled in here: a schema need not declare them
        if key not in loader.fields:
            del merged[key]
    config = loader.load(merged)
    wrong = {k: v for k, v in (("name", name), ("driver", driver)) if getattr(config, k, v) != v}
    if wrong and dataclasses.is_dataclass(config) and not isinstance(config, type):
        config = dataclasses.replace(config, **wrong)
    return config


class _Pipelines(BaseField):
    """``jobs.pipelines``: name → the driver's config dataclass."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ValidationError(
                f"expected a map of pipeline name: {{driver, config}}, got {describe(value)}"
            )
        out: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        with pushed(self.key):
            for key, settings in value.items():
                name = str(key)
                if not isinstance(settings, dict):
                    errors[name] = [f"expected a map (driver, config), got {describe(settings)}"]
                    continue
                with pushed(name):
                    try:
                        out[name] = load_pipeline(name, settings)
                    except ValidationError as exc:
                        errors[name] = exc.messages
        if errors:
            raise ValidationError(errors)
        return out


class JobsSchema(SectionSchema):
    """``jobs``; ``options``/``pools`` (RoadRunner's newer extras) are accepted and ignored."""

    IGNORED = ("options", "pools")

    pool = Section(PoolSchema)
    num_pollers = Int()
    pipeline_size = Int(zero=1_000_000)
    timeout = Int(zero=60)
    consume = StrList()
    pipelines = _Pipelines()

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> JobsConfig:
        pipelines = data.get("pipelines", {})
        for index, name in enumerate(data.get("consume", [])):
            if name not in pipelines:
                warn(
                    ("jobs", "consume", index),
                    f"pipeline {name} is not in jobs.pipelines: it is consumed only once "
                    "declared over RPC (jobs.Declare)",
                )
        if "timeout" in data:
            data["timeout"] = float(data["timeout"])
        return JobsConfig(**data)
