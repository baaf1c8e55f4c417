"""Greenrunner configuration: RoadRunner's ``.rr.yaml`` read into typed dataclasses.

The public surface is small on purpose (load a file, validate a dict or one
pool section, parse a duration, one error type, the dataclasses) so the
actors never depend on how validation is done.  Where each key is checked:
:mod:`actors.config.schema`; how files, env vars, includes and ``-o`` are handled:
:mod:`actors.config.loader`.
"""

from __future__ import annotations

from actors.config.durations import format_duration, parse_duration
from actors.config.errors import ConfigError
from actors.config.loader import config_from_dict, load_config, parse_pool_config
from actors.config.model import (
    CollectorConfig,
    Config,
    DynamicAllocatorConfig,
    HttpConfig,
    LogChannelConfig,
    LogsConfig,
    MetricsConfig,
    OnInitConfig,
    PoolConfig,
    RpcConfig,
    ServerConfig,
    StatusConfig,
    SupervisorConfig,
    TcpConfig,
    TcpServerConfig,
    UploadsConfig,
)

__all__ = [
    "CollectorConfig",
    "Config",
    "ConfigError",
    "DynamicAllocatorConfig",
    "HttpConfig",
    "LogChannelConfig",
    "LogsConfig",
    "MetricsConfig",
    "OnInitConfig",
    "PoolConfig",
    "RpcConfig",
    "ServerConfig",
    "StatusConfig",
    "SupervisorConfig",
    "TcpConfig",
    "TcpServerConfig",
    "UploadsConfig",
    "config_from_dict",
    "format_duration",
    "load_config",
    "parse_duration",
    "parse_pool_config",
]
