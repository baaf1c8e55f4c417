"""A worker pool (``http.pool`` and the embedding API's ``new_pool``), with its
``supervisor`` and ``dynamic_allocator`` subsections."""

from __future__ import annotations

from typing import Any

from marshmallow import post_load

from actors.config.model import (
    MAX_WORKERS,
    DynamicAllocatorConfig,
    PoolConfig,
    SupervisorConfig,
    cpu_count,
)
from actors.config.schema.base import Section, SectionSchema
from actors.config.schema.commands import Command
from actors.config.schema.fields import Bool, Duration, Int
from actors.config.schema.paths import warn

__all__ = ["DynamicAllocatorSchema", "PoolSchema", "SupervisorSchema"]


class SupervisorSchema(SectionSchema):
    """``<plugin>.pool.supervisor``: durations in seconds, memory in MiB, 0 = off."""

    watch_tick = Duration(default=5.0)
    ttl = Duration(default=0.0)
    idle_ttl = Duration(default=0.0)
    max_worker_memory = Int()
    exec_ttl = Duration(default=0.0)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> SupervisorConfig:
        return SupervisorConfig(**data)


class _Capped(Int):
    """RoadRunner silently caps these at 100; Greenrunner caps too but says so."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        number = super()._deserialize(value, attr, data, **kwargs)
        if number > 100:
            warn(self.path(), f"{number} is more than 100; using 100 (RoadRunner's limit)")
            return 100
        return number


class DynamicAllocatorSchema(SectionSchema):
    """Kept so RoadRunner configs using the (beta) allocator load unchanged."""

    max_workers = _Capped(zero=10)
    spawn_rate = _Capped(zero=5)
    idle_timeout = Duration(default=60.0, floor=1.0)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> DynamicAllocatorConfig:
        return DynamicAllocatorConfig(**data)


class PoolSchema(SectionSchema):
    """One worker pool; the same schema serves ``http.pool`` and the embedding API."""

    # A pool's ``command:`` left empty means "use server.command", not an error.
    command = Command(keep_null=False)
    num_workers = Int(
        maximum=MAX_WORKERS,
        zero=cpu_count,
        too_big="number of workers can't be more than {maximum}, got {value}",
    )
    max_jobs = Int()
    max_queue_size = Int()
    allocate_timeout = Duration(default=60.0)
    reset_timeout = Duration(default=60.0)
    destroy_timeout = Duration(default=60.0)
    stream_timeout = Duration(default=60.0)
    debug = Bool()
    supervisor = Section(SupervisorSchema)
    dynamic_allocator = Section(DynamicAllocatorSchema)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> PoolConfig:
        return PoolConfig(**data)
