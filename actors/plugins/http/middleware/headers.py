"""``headers``: static request and response headers, and CORS (``http.headers``).

Upstream ``roadrunner-server/headers``: ``request`` headers are added to every request before
it goes on (the worker sees them), ``response`` headers to every response, error answers of
the server included; ``cors`` (:mod:`.cors`) sits inside them, so a preflight answered by the
server carries the static response headers too.
"""

from __future__ import annotations

from actors.config.model import HeadersConfig
from actors.plugins.http.middleware import cors
from actors.plugins.http.middleware.delegate import BodyPreserving
from actors.plugins.http.server.listener import Handler
from actors.plugins.http.server.request import HttpRequest
from actors.plugins.http.server.response_head import Headers
from actors.plugins.http.server.writer import Writer

__all__ = ["AddHeaders", "middleware"]


class AddHeaders(BodyPreserving):
    """Adds fixed headers to the final response (and to an override of it)."""

    __slots__ = ("extra",)

    def __init__(self, inner: Writer, extra: list[tuple[str, str]]) -> None:
        super().__init__(inner)
        self.extra = extra

    def start(self, status: int, headers: Headers) -> None:
        self.inner.start(status, [*headers, *self.extra])

    def override(self, status: int, headers: Headers) -> None:
        self.inner.override(status, [*headers, *self.extra])


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
