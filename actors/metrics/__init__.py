"""RoadRunner's ``metrics`` plugin on prometheus_client: one registry per ActorSystem."""

from actors.metrics.exposition import CONTENT_TYPE, render
from actors.metrics.http import REQUEST_BUCKETS, HttpMetrics
from actors.metrics.pool import PoolCollector
from actors.metrics.registry import new_registry
from actors.metrics.server import MetricsServer
from actors.metrics.service import MetricsError, MetricsService

__all__ = [
    "CONTENT_TYPE",
    "REQUEST_BUCKETS",
    "HttpMetrics",
    "MetricsError",
    "MetricsServer",
    "MetricsService",
    "PoolCollector",
    "new_registry",
    "render",
]
