"""``http_metrics``: request count, duration histogram and in-flight gauge per status.

Moved here from ``HttpPlugin.handler()``; the series live in :mod:`actors.metrics.http`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from actors.plugins.http.server.listener import Handler
from actors.plugins.http.server.request import HttpRequest
from actors.plugins.http.server.writer import Writer

if TYPE_CHECKING:
    from actors.metrics import HttpMetrics

__all__ = ["middleware"]


def middleware(series: HttpMetrics, next_handler: Handler) -> Handler:
    """Time every request through ``next_handler`` and count it under its final status."""

    def measured(req: HttpRequest, resp: Writer) -> None:
        started = time.monotonic()
        series.request_started()
        try:
            next_handler(req, resp)
        finally:
            series.request_finished(resp.status or -1, time.monotonic() - started)

    return measured
