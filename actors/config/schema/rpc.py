"""``rpc``: the listener of the control plane (``tcp://host:port`` or ``unix://path``)."""

from __future__ import annotations

from typing import Any

from marshmallow import post_load

from actors.config.model import DEFAULT_RPC_LISTEN, RpcConfig
from actors.config.schema.addresses import Relay, validate_listen
from actors.config.schema.base import SectionSchema

__all__ = ["RpcSchema"]


class RpcSchema(SectionSchema):
    """``rpc``: the section's presence enables RPC, so an empty one gets the default DSN."""

    listen = Relay(check=validate_listen)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> RpcConfig:
        return RpcConfig(listen=data.get("listen") or DEFAULT_RPC_LISTEN)
