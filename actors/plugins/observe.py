"""The ``status`` and ``metrics`` sections: operator endpoints started by the ActorSystem.

Neither owns workers: probes and scrapes run in their request greenlets and read pools
through ``Pool.workers()`` (a snapshot), so they never wait behind a pool's work.
Metrics start before any pool, so every pool the system creates gets its seven
``rr_<name>_*`` series (:meth:`MetricsPlugin.watch_pool`).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from actors.metrics import HttpMetrics, MetricsServer, MetricsService, PoolCollector, new_registry
from actors.status import PluginProbe, StatusServer, WorkersProbe

if TYPE_CHECKING:
    from actors.config import MetricsConfig, StatusConfig
    from actors.pool import Pool
    from actors.system import ActorSystem

__all__ = ["MetricsPlugin", "StatusPlugin"]

log = logging.getLogger("greenrunner.server")


class StatusPlugin:
    """``/health``, ``/ready`` and ``/jobs`` on ``status.address`` for every pool of the system."""

    def __init__(self, system: ActorSystem, cfg: StatusConfig) -> None:
        self.system = system
        self.server = StatusServer(
            cfg.address,
            self.probes,
            unavailable_status_code=cfg.unavailable_status_code,
            check_timeout=float(cfg.check_timeout),
            jobs=self.jobs if getattr(system.config, "jobs", None) is not None else None,
        )

    def probes(self) -> dict[str, PluginProbe]:
        """One probe per pool of the system (plugins and embedders' pools alike)."""
        return {name: WorkersProbe(pool.workers) for name, pool in self.system.pools.items()}

    def jobs(self) -> list[dict[str, Any]]:
        """``/jobs``: the jobs plugin's pipelines (``LookupError`` while it is not started)."""
        plugin = self.system.plugins.get("jobs")
        if plugin is None:
            raise LookupError("jobs plugin not found")
        states: list[dict[str, Any]] = plugin.jobs_state()
        return states

    def start(self) -> None:
        """Listen; ``OSError`` (address in use...) is the caller's to report."""
        self.server.start()
        host, port = self.server.address
        log.info("status server was started", extra={"fields": {"address": f"{host}:{port}"}})

    def shutting_down(self) -> None:
        """``/ready`` answers 503 from now on, so load balancers stop sending first."""
        self.server.shutting_down()

    def stop(self, timeout: float | None = None) -> None:
        """Close the listener (probes in progress get a second)."""
        self.server.stop(1.0)


class MetricsPlugin:
    """Prometheus exposition on ``metrics.address``; one registry per ActorSystem."""

    def __init__(self, system: ActorSystem, cfg: MetricsConfig) -> None:
        self.registry = new_registry()
        self.service = MetricsService(self.registry)
        self.service.declare_collect(
            {name: _plain(collector) for name, collector in cfg.collect.items()}
        )
        self.server = MetricsServer(cfg.address, self.registry)
        self._http: HttpMetrics | None = None

    def watch_pool(self, name: str, pool: Pool) -> None:
        """Export RoadRunner's seven worker series for ``pool`` as ``rr_<name>_*``."""
        self.registry.register(PoolCollector(name, pool.workers))

    def http_metrics(self) -> HttpMetrics:
        """The ``http_metrics`` middleware's series (created once, on first use)."""
        if self._http is None:
            self._http = HttpMetrics()
            self.registry.register(self._http)
        return self._http

    def start(self) -> None:
        """Listen; ``OSError`` (address in use...) is the caller's to report."""
        self.server.start()
        host, port = self.server.address
        log.info("metrics server was started", extra={"fields": {"address": f"{host}:{port}"}})

    def stop(self, timeout: float | None = None) -> None:
        """Close the listener (scrapes in progress get a second)."""
        self.server.stop(1.0)


def _plain(collector: Any) -> Any:
    """A ``CollectorConfig`` dataclass as the dict ``MetricsService`` reads (PHP's shape)."""
    if dataclasses.is_dataclass(collector) and not isinstance(collector, type):
        return {k: v for k, v in dataclasses.asdict(collector).items() if v not in (None, [], {})}
    return collector
