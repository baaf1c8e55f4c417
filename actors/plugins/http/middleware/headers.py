"""``headers``: static request and response headers, and CORS (``http.headers``).

Upstream ``roadrunner-server/headers``: ``request`` headers are added to every request before
it goes on (the worker sees them), ``response`` headers to every response, error answers of
the server included; ``cors`` (:mod:`.cors`) sits inside them, so a preflight answered by the
server carries the static response headers too.
"""

from __future__ import annotations

from actors.config.model import HeadersConfig
from actors.plugins.http.middleware import cors
from actors.plugins.http.middleware.delegate import AddHeaders
from actors.plugins.http.server.listener import Handler
from actors.plugins.http.server.request import HttpRequest
from actors.plugins.http.server.writer import Writer

__all__ = ["middleware"]


def middleware(cfg: HeadersConfig, next_handler: Handler) -> Handler:
    """Static headers around ``next_handler``, with CORS inside them when configured."""
    inner = cors.middleware(cfg.cors, next_handler) if cfg.cors is not None else next_handler
    request_headers = list(cfg.request.items())
    response_headers = list(cfg.response.items())
    if not request_headers and not response_headers:
        return inner

    def add_headers(req: HttpRequest, resp: Writer) -> None:
        if request_headers:
            req.headers = [*req.headers, *request_headers]
        if response_headers:
            resp = AddHeaders(resp, response_headers)
        inner(req, resp)

    return add_headers
