"""The whole file: ``version``, which top-level sections exist, the check that
every pool has a worker command, and the two entry points the loader calls."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, post_load, pre_load

from actors.config.errors import describe
from actors.config.model import Config, PoolConfig
from actors.config.schema.amqp import AmqpSchema
from actors.config.schema.base import Section, SectionSchema
from actors.config.schema.fields import BaseField
from actors.config.schema.http import HttpSchema
from actors.config.schema.jobs import JobsSchema
from actors.config.schema.logs import LogsSchema
from actors.config.schema.metrics import MetricsSchema
from actors.config.schema.paths import (
    LoadState,
    did_you_mean,
    state,
    unknown_key_message,
    using,
    warn,
)
from actors.config.schema.pool import PoolSchema
from actors.config.schema.rpc import RpcSchema
from actors.config.schema.server import ServerSchema
from actors.config.schema.status import StatusSchema
from actors.config.schema.tcp import TcpSchema

__all__ = [
    "IGNORED_SECTIONS",
    "SUPPORTED_SECTIONS",
    "ConfigSchema",
    "load_pool",
    "load_root",
]

#: Top-level sections Greenrunner reads.
SUPPORTED_SECTIONS = (
    "version", "include", "server", "logs", "http", "rpc", "status", "metrics", "tcp", "amqp",
    "jobs",
)  # fmt: skip

#: RoadRunner plugin sections that are accepted (a config shared with RR must load) and ignored.
IGNORED_SECTIONS = frozenset(
    {
        "app", "beanstalk", "boltdb", "broadcast", "centrifuge", "config", "dotenv",
        "endure", "envfile", "fileserver", "gcp_pubsub", "google_pub_sub", "grpc", "headers",
        "informer", "kafka", "kv", "lock", "memcached", "memory", "nats", "otel",
        "pubsub", "redis", "reload", "resetter", "service", "sqs", "static", "temporal",
        "websockets",
    }
)  # fmt: skip


class Version(BaseField):
    """``version: "3"``. RoadRunner insists on a YAML string (``3`` is an int there too)."""

    keep_null = True

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise ValidationError(
                f'version should be a string: use version: "3" (quoted), got {describe(value)}'
            )
        if value.strip() != "3":
            raise ValidationError(
                f"unsupported config version {value!r}: Greenrunner reads RoadRunner v3 "
                'configs; use version: "3"'
            )
        return "3"


class ConfigSchema(SectionSchema):
    """The whole file. Top-level keys that are not Greenrunner's: RoadRunner plugin
    sections are ignored with a warning (a config shared with RR must still load);
    a near-miss of a supported key (``htpp``) is an error, since it is a typo that
    would silently drop the whole section; anything else is warned about."""

    version = Version(
        null_message='version should be a string: use version: "3"',
        required=True,
        required_message='the file needs version: "3" at the top (RoadRunner v3 config)',
    )
    server = Section(ServerSchema)
    logs = Section(LogsSchema)
    http = Section(HttpSchema)
    rpc = Section(RpcSchema)
    status = Section(StatusSchema)
    metrics = Section(MetricsSchema)
    tcp = Section(TcpSchema)
    amqp = Section(AmqpSchema)  # before jobs: its amqp pipelines default to this section
    jobs = Section(JobsSchema)

    @pre_load
    def _check_keys(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        for key, value in data.items():
            name = str(key)
            if name in self.fields:
                if value is None and isinstance(self.fields[name], Section):
                    value = {}
                out[name] = value
            elif name == "include":
                errors[name] = ["include must be resolved by the loader (load_config)"]
            elif name in IGNORED_SECTIONS:
                warn((name,), f"section {name} is not supported by Greenrunner and is ignored")
            elif did_you_mean(name, SUPPORTED_SECTIONS):
                errors[name] = [unknown_key_message(name, list(SUPPORTED_SECTIONS))]
            else:
                hint = did_you_mean(name, sorted(IGNORED_SECTIONS))
                warn((name,), f"unknown section {name} is ignored{hint}")
        if "version" not in out and not state().require_version:
            out["version"] = "3"
        self._key_errors = errors
        return out

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Config:
        config = Config(**data)
        _check_worker_command(config)
        return config


def _check_worker_command(config: Config) -> None:
    """A pool needs a command: its own ``pool.command`` or ``server.command``."""
    pools = {"http.pool": config.http.pool} if config.http is not None else {}
    if config.tcp is not None:
        pools["tcp.pool"] = config.tcp.pool
    if config.jobs is not None:
        pools["jobs.pool"] = config.jobs.pool
    server = config.server
    if server is not None and server.command:
        return
    without = [name for name, pool in pools.items() if pool.command is None]
    if server is None and not without:
        return
    if server is not None and pools and not without:
        return  # every pool brings its own command; server only sets env, relay, user
    if server is None:
        message = (
            f"server.command should not be empty: {', '.join(without)} needs a worker "
            "command; add a server section with a command (or set pool.command)"
        )
    else:
        message = "server.command should not be empty" + (
            f": {', '.join(without)} has no command of its own" if without else ""
        )
    raise ValidationError({"server": {"command": [message]}})


def load_root(data: dict[str, Any], *, state: LoadState) -> Config:
    """Validate a whole config tree; raises :class:`ValidationError` (the loader locates it)."""
    with using(state):
        config: Config = ConfigSchema().load(data)
        return config


def load_pool(data: dict[str, Any], *, state: LoadState) -> PoolConfig:
    """Validate one pool section on its own (the embedding API's ``new_pool``)."""
    with using(state):
        pool: PoolConfig = PoolSchema().load(data)
        return pool
