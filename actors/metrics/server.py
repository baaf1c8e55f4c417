"""``metrics.address``: the Prometheus exposition on every path, from the project's listener.

Not prometheus_client's ``start_http_server`` (a thread, outside the hub): the scrape runs in a
greenlet like every other request, so collectors may ask actors (``Pool.workers``) safely.
"""

from __future__ import annotations

import logging
from typing import Any

from actors.metrics.exposition import CONTENT_TYPE, render
from actors.status.endpoint import Answer, Endpoint

__all__ = ["MetricsServer"]

log = logging.getLogger("greenrunner.metrics")


class MetricsServer:
    """Serves ``registry`` (any object with ``collect()``) on ``address`` (``host:port``)."""

    def __init__(self, address: str, registry: Any, timeout: float = 60.0) -> None:
        self.registry = registry
        self._endpoint = Endpoint(address, self.route, timeout=timeout, logger=log)

    @property
    def address(self) -> tuple[str, int]:
        """The bound address (the real port when 0 was asked)."""
        return self._endpoint.address

    def start(self) -> MetricsServer:
        """Bind and serve; raises ``OSError`` (e.g. address in use) for the caller to report."""
        self._endpoint.start()
        log.debug("metrics: listening on %s:%d", *self.address)
        return self

    def stop(self, timeout: float = 1.0) -> None:
        """Close the listener; scrapes in progress get ``timeout`` seconds."""
        self._endpoint.stop(timeout)

    def route(self, path: str, query: dict[str, list[str]]) -> Answer:
        """Every path answers the exposition, as RoadRunner's metrics listener does."""
        return 200, [("Content-Type", CONTENT_TYPE)], render(self.registry)
