"""Typed configuration objects: what the rest of Greenrunner reads.

The schema (:mod:`actors.config.schema`) validates and normalises; these
dataclasses hold the result so actors and plugins use attributes with
known types and units (seconds as ``float``, MiB as ``int``) instead of
poking into dicts and re-checking values.  Every field has the RoadRunner
default, so an embedder can also build them directly
(``PoolConfig(num_workers=2)``).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_RPC_LISTEN",
    "MAX_WORKERS",
    "Config",
    "DynamicAllocatorConfig",
    "HttpConfig",
    "LogChannelConfig",
    "LogsConfig",
    "OnInitConfig",
    "PoolConfig",
    "RpcConfig",
    "ServerConfig",
    "SupervisorConfig",
    "UploadsConfig",
    "cpu_count",
]

#: RoadRunner's hard limit on ``num_workers`` (pool ``NewPool``).
MAX_WORKERS = 500
#: ``rpc.listen`` when the ``rpc`` section exists without it.
DEFAULT_RPC_LISTEN = "tcp://127.0.0.1:6001"


def cpu_count() -> int:
    """``num_workers: 0`` means one worker per CPU, like Go's ``runtime.NumCPU()``."""
    return os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class SupervisorConfig:
    """Per-pool supervisor limits; 0 disables a limit (seconds, MiB)."""

    watch_tick: float = 5.0
    ttl: float = 0.0
    idle_ttl: float = 0.0
    max_worker_memory: int = 0
    exec_ttl: float = 0.0


@dataclass(frozen=True, slots=True)
class DynamicAllocatorConfig:
    """RoadRunner's (beta) dynamic allocator; kept so configs round-trip, not acted on yet."""

    max_workers: int = 10
    spawn_rate: int = 5
    idle_timeout: float = 60.0


@dataclass(frozen=True, slots=True)
class PoolConfig:
    """A worker pool (``http.pool`` and friends); ``command=None`` means ``server.command``."""

    command: list[str] | None = None
    num_workers: int = field(default_factory=cpu_count)
    max_jobs: int = 0
    max_queue_size: int = 0
    allocate_timeout: float = 60.0
    reset_timeout: float = 60.0
    destroy_timeout: float = 60.0
    stream_timeout: float = 60.0
    debug: bool = False
    supervisor: SupervisorConfig | None = None
    dynamic_allocator: DynamicAllocatorConfig | None = None


@dataclass(frozen=True, slots=True)
class OnInitConfig:
    """A one-shot command run before any worker starts."""

    command: list[str]
    exec_timeout: float = 60.0
    env: dict[str, str] = field(default_factory=dict)
    user: str = ""
    exit_on_error: bool = False


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """How worker processes are started.

    ``command`` may be empty only when every pool has its own ``command``.
    ``relay_timeout`` is accepted for old configs; RoadRunner stopped using it.
    """

    command: list[str] = field(default_factory=list)
    user: str = ""
    group: str = ""
    env: dict[str, str] = field(default_factory=dict)
    relay: str = "pipes"
    relay_timeout: float = 60.0
    on_init: OnInitConfig | None = None


@dataclass(frozen=True, slots=True)
class LogChannelConfig:
    """Per-logger overrides (``logs.channels.<name>``); ``None`` inherits from ``logs``."""

    level: str | None = None
    mode: str | None = None
    encoding: str | None = None
    output: list[str] | None = None


def _default_encoding(mode: str) -> str:
    # RoadRunner's production mode is zap's production config, which writes JSON.
    return "json" if mode == "production" else "console"


@dataclass(frozen=True, slots=True)
class LogsConfig:
    """Logging. ``encoding=""`` means "what the mode implies": JSON for
    ``production``, console for the others (resolved at construction)."""

    level: str = "info"
    mode: str = "production"
    encoding: str = ""
    output: list[str] = field(default_factory=lambda: ["stderr"])
    err_output: list[str] = field(default_factory=lambda: ["stderr"])
    line_ending: str = "\n"
    channels: dict[str, LogChannelConfig] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.level == "warning":
            object.__setattr__(self, "level", "warn")
        if not self.encoding:
            object.__setattr__(self, "encoding", _default_encoding(self.mode))


@dataclass(frozen=True, slots=True)
class UploadsConfig:
    """Multipart uploads; extensions are lower-case with a leading dot (``.php``)."""

    dir: str = field(default_factory=tempfile.gettempdir)
    forbid: list[str] = field(default_factory=list)
    allow: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class HttpConfig:
    """The HTTP plugin. ``address`` is normalised to ``host:port`` (``:8080`` → ``0.0.0.0:8080``);
    ``max_request_size`` is in MiB."""

    address: str
    host: str
    port: int
    pool: PoolConfig = field(default_factory=PoolConfig)
    max_request_size: int = 1000
    internal_error_code: int = 500
    raw_body: bool = False
    access_logs: bool = False
    uploads: UploadsConfig = field(default_factory=UploadsConfig)
    middleware: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RpcConfig:
    """The RPC listener DSN (``tcp://host:port`` or ``unix://path``)."""

    listen: str = DEFAULT_RPC_LISTEN


@dataclass(frozen=True, slots=True)
class Config:
    """A whole validated config. ``raw`` is the data after env expansion, includes and
    overrides, kept for sections Greenrunner does not model (and for debugging);
    ``path`` is the file it came from (``None`` for dicts)."""

    version: str = "3"
    server: ServerConfig | None = None
    logs: LogsConfig = field(default_factory=LogsConfig)
    http: HttpConfig | None = None
    rpc: RpcConfig | None = None
    path: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
