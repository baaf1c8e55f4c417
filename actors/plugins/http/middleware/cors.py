"""CORS for the ``headers`` middleware, with the rules of ``github.com/rs/cors`` (which
RoadRunner's headers plugin configures from ``http.headers.cors``).

* A preflight (``OPTIONS`` with ``Access-Control-Request-Method``) is answered by the server
  with ``options_success_status`` (200) and never reaches a worker.  The allow headers are sent
  only when origin, method and requested headers are all allowed; otherwise the answer carries
  only ``Vary`` and the browser blocks the request.
* Any other request goes on; when its ``Origin`` is allowed the response gets
  ``Access-Control-Allow-Origin`` (and ``-Expose-Headers``, ``-Allow-Credentials``).

Defaults as rs/cors: no ``allowed_origin`` means every origin (answered ``*``); methods
``GET, POST, HEAD``; headers ``Accept, Content-Type, X-Requested-With`` (``Origin`` is always
allowed, ``*`` allows all).  An origin may hold one ``*`` (``https://*.example.com``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from actors.config.model import CorsConfig
from actors.plugins.http.middleware.delegate import AddHeaders
from actors.plugins.http.server.listener import Handler
from actors.plugins.http.server.request import HttpRequest
from actors.plugins.http.server.writer import Writer

__all__ = ["CorsPolicy", "middleware"]

_DEFAULT_METHODS = ("GET", "POST", "HEAD")
_DEFAULT_HEADERS = ("accept", "content-type", "x-requested-with")
_PREFLIGHT_VARY = ("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")


class CorsPolicy:
    """The decisions of one ``cors`` config, prepared once at start."""

    def __init__(self, cfg: CorsConfig) -> None:
        origins = [o.lower() for o in cfg.allowed_origin]
        regex = re.compile(cfg.allowed_origin_regex) if cfg.allowed_origin_regex else None
        self.all_origins = (not origins and regex is None) or "*" in origins
        self._exact = frozenset(o for o in origins if "*" not in o)
        self._wildcards = [tuple(o.split("*", 1)) for o in origins if "*" in o and o != "*"]
        self._regex = regex
        self.methods = frozenset(m.upper() for m in cfg.allowed_methods or _DEFAULT_METHODS)
        names = [h.lower() for h in cfg.allowed_headers] or list(_DEFAULT_HEADERS)
        self.all_headers = "*" in names
        self.headers = frozenset([*names, "origin"])
        self.exposed = ", ".join(cfg.exposed_headers)
        self.credentials = cfg.allow_credentials
        self.max_age = cfg.max_age
        self.preflight_status = cfg.options_success_status

    def origin_allowed(self, origin: str) -> bool:
        if self.all_origins:
            return True
        low = origin.lower()
        if low in self._exact:
            return True
        for prefix, suffix in self._wildcards:
            if (
                len(low) >= len(prefix) + len(suffix)
                and low.startswith(prefix)
                and low.endswith(suffix)
            ):
                return True
        return self._regex is not None and self._regex.search(origin) is not None

    def headers_allowed(self, requested: str) -> bool:
        if self.all_headers:
            return True
        names = [h.strip().lower() for h in requested.split(",")]
        return all(not name or name in self.headers for name in names)

    def allow_origin(self, origin: str) -> str:
        """``*`` when every origin is allowed by default, else the origin itself."""
        return "*" if self.all_origins else origin

    def preflight(self, origin: str, method: str, requested: str) -> list[tuple[str, str]]:
        """The headers of a preflight answer (only ``Vary`` when something is not allowed)."""
        out = [_PREFLIGHT_VARY]
        if not origin or not self.origin_allowed(origin):
            return out
        method = method.upper()
        if method != "OPTIONS" and method not in self.methods:
            return out
        if requested and not self.headers_allowed(requested):
            return out
        out.append(("Access-Control-Allow-Origin", self.allow_origin(origin)))
        out.append(("Access-Control-Allow-Methods", method))
        if requested:
            out.append(("Access-Control-Allow-Headers", requested))
        if self.credentials:
            out.append(("Access-Control-Allow-Credentials", "true"))
        if self.max_age > 0:
            out.append(("Access-Control-Max-Age", str(self.max_age)))
        return out

    def actual(self, origin: str, method: str) -> list[tuple[str, str]]:
        """The headers added to the response of a non-preflight request."""
        out = [("Vary", "Origin")]
        method = method.upper()
        if not origin or not self.origin_allowed(origin):
            return out
        if method != "OPTIONS" and method not in self.methods:  # OPTIONS is always allowed
            return out
        out.append(("Access-Control-Allow-Origin", self.allow_origin(origin)))
        if self.exposed:
            out.append(("Access-Control-Expose-Headers", self.exposed))
        if self.credentials:
            out.append(("Access-Control-Allow-Credentials", "true"))
        return out


def _headers_of(req: HttpRequest) -> Callable[[str], str]:
    def get(name: str) -> str:
        for key, value in req.headers:
            if key.lower() == name:
                return value
        return ""

    return get


def middleware(cfg: CorsConfig, next_handler: Handler) -> Handler:
    """Answer preflights here; add the CORS headers to every other response."""
    policy = CorsPolicy(cfg)

    def cors(req: HttpRequest, resp: Writer) -> None:
        get = _headers_of(req)
        origin = get("origin")
        if req.method == "OPTIONS":
            requested_method = get("access-control-request-method")
            if requested_method:
                headers = policy.preflight(
                    origin, requested_method, get("access-control-request-headers")
                )
                resp.start(policy.preflight_status, headers)
                resp.finish(b"")
                return
        next_handler(req, AddHeaders(resp, policy.actual(origin, req.method)))

    return cors
