"""HTTP middleware (``http.middleware``): static files, headers and CORS, gzip, proxy IPs,
X-Sendfile and HTTP metrics, chained in RoadRunner's order by :func:`build_chain`."""

from actors.plugins.http.middleware.chain import IMPLEMENTED, build_chain

__all__ = ["IMPLEMENTED", "build_chain"]
