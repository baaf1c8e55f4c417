"""The middleware chain: ``http.middleware`` names turned into one :data:`Handler`.

RoadRunner applies the list in order, each middleware wrapping the handler built so far, so the
LAST name sees the request first (``servers/http11/http.go`` ``applyMiddleware``).  The chain is
built once at start: a middleware that is not listed costs nothing per request.

Each middleware module has a factory ``middleware(settings, next_handler) -> Handler``; this
module only finds the settings of each name and reports the names it cannot honour.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from actors.plugins.http.middleware import (
    gzip,
    headers,
    http_metrics,
    proxy_ip,
    sendfile,
    static,
)
from actors.plugins.http.server.listener import Handler

if TYPE_CHECKING:
    from actors.config.model import HttpConfig
    from actors.metrics import HttpMetrics

__all__ = ["IMPLEMENTED", "build_chain"]

log = logging.getLogger("greenrunner.http")

#: ``(http config, next handler, http_metrics series) -> handler``, or None when the middleware
#: cannot run with this config (the reason is logged by the builder).
_Wrap = Callable[["HttpConfig", Handler, "HttpMetrics | None"], "Handler | None"]


def _static(cfg: HttpConfig, nxt: Handler, _series: HttpMetrics | None) -> Handler | None:
    return static.middleware(cfg.static, nxt) if cfg.static is not None else None


def _headers(cfg: HttpConfig, nxt: Handler, _series: HttpMetrics | None) -> Handler | None:
    return headers.middleware(cfg.headers, nxt) if cfg.headers is not None else None


def _gzip(cfg: HttpConfig, nxt: Handler, _series: HttpMetrics | None) -> Handler | None:
    return gzip.middleware(None, nxt)


def _proxy_ip(cfg: HttpConfig, nxt: Handler, _series: HttpMetrics | None) -> Handler | None:
    return proxy_ip.middleware(cfg.trusted_subnets, nxt)


def _sendfile(cfg: HttpConfig, nxt: Handler, _series: HttpMetrics | None) -> Handler | None:
    return sendfile.middleware(None, nxt)


def _http_metrics(cfg: HttpConfig, nxt: Handler, series: HttpMetrics | None) -> Handler | None:
    # Without a ``metrics`` section there is nothing to record into: as before, silently off.
    return http_metrics.middleware(series, nxt) if series is not None else nxt


_WRAPS: dict[str, _Wrap] = {
    "static": _static,
    "headers": _headers,
    "gzip": _gzip,
    "proxy_ip_parser": _proxy_ip,
    "sendfile": _sendfile,
    "http_metrics": _http_metrics,
}

#: The middleware names Greenrunner implements.
IMPLEMENTED = frozenset(_WRAPS)

#: Why a listed middleware did nothing, by name (the config gave it nothing to do).
_MISSING = {
    "static": "http.static is missing (it needs at least dir); static files are not served",
    "headers": "http.headers is missing; no header is added",
}


def build_chain(
    cfg: HttpConfig, endpoint: Handler, *, series: HttpMetrics | None = None
) -> Handler:
    """``endpoint`` wrapped by every middleware of ``cfg.middleware``, the last one outermost.

    ``series`` are the ``http_metrics`` middleware's metrics (None: metrics are off).  Names
    Greenrunner does not implement, and ``static``/``headers`` without their section, were
    warned about when the config was loaded; they are skipped here (a debug line says so).
    """
    handler = endpoint
    for name in cfg.middleware:
        wrap = _WRAPS.get(name)
        if wrap is None:
            log.debug("http: middleware %r is not implemented by Greenrunner; ignored", name)
            continue
        wrapped = wrap(cfg, handler, series)
        if wrapped is None:
            log.debug("http: middleware %r: %s", name, _MISSING.get(name, "not configured"))
            continue
        handler = wrapped
    return handler
