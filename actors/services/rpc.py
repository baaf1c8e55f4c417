"""``rpc.*``: the server's version and the merged configuration it runs with."""

from __future__ import annotations

import json
from typing import Any

from actors.config import Config
from actors.process import RR_VERSION

__all__ = ["RpcService"]


class RpcService:
    """RoadRunner's built-in ``rpc`` service."""

    def __init__(self, config: Config) -> None:
        self._config = config

    def Version(self, _: Any = None) -> str:
        """The RoadRunner version Greenrunner is compatible with (also ``RR_VERSION``)."""
        return RR_VERSION

    def Config(self, _: Any = None) -> bytes:
        """The whole merged configuration as JSON text (bytes: Go's ``[]byte`` reply)."""
        return json.dumps(self._config.raw, default=str).encode()
