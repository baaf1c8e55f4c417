from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from actors.plugins.http.server.listener import Handler, HttpServer


@pytest.fixture
def serve() -> Iterator[Callable[..., HttpServer]]:
    """Start an HttpServer on 127.0.0.1, port 0 (parallel-safe); stopped after the test."""
    servers: list[HttpServer] = []

    def _serve(handler: Handler, **kwargs: Any) -> HttpServer:
        kwargs.setdefault("max_request_size", 1 << 20)
        server = HttpServer("127.0.0.1", 0, handler, **kwargs)
        server.start()
        servers.append(server)
        return server

    yield _serve
    for server in servers:
        server.stop(1.0)
