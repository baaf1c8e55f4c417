"""One Prometheus registry per ActorSystem.

Never prometheus_client's global ``REGISTRY``: an embedding application may run several
ActorSystems (each with its own pools and metrics address) in one process, and must not see
the other's series or clash with them.  RoadRunner always exposes its process and runtime
collectors; the Python equivalents are registered here (``process_*``, ``python_*``).
"""

from __future__ import annotations

from prometheus_client import GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.registry import CollectorRegistry

__all__ = ["new_registry"]


def new_registry(runtime: bool = True) -> CollectorRegistry:
    """A fresh registry; ``runtime`` adds the process, platform and GC collectors."""
    # auto_describe: collectors without describe() still get their names checked for clashes.
    registry = CollectorRegistry(auto_describe=True)
    if runtime:
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
    return registry
