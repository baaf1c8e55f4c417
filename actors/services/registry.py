"""Put every built-in service in an RPC registry, under RoadRunner's names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors.rpc import ServiceRegistry
from actors.services.informer import InformerService
from actors.services.resetter import ResetterService
from actors.services.rpc import RpcService

if TYPE_CHECKING:
    from actors.system import ActorSystem

__all__ = ["register_all"]


def register_all(registry: ServiceRegistry, system: ActorSystem) -> None:
    """``informer``, ``resetter`` and ``rpc``; plugins add their own (``metrics``, ``tcp``...)."""
    registry.register("informer", InformerService(system))
    registry.register("resetter", ResetterService(system))
    registry.register("rpc", RpcService(system.config))
