"""A small GET endpoint on the project's own gevent HTTP/1.1 listener.

The status and metrics endpoints answer a handful of tiny requests (probes, scrapes), so they
reuse the http plugin's ``HttpServer`` (httptools on a gevent ``StreamServer``, keep-alive,
timeouts, Go-shaped error answers) instead of a second HTTP implementation or a thread server:
everything stays on the one hub, with no thread and no monkey-patching.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import parse_qs

from actors.plugins.http.server.listener import HttpServer
from actors.plugins.http.server.request import HttpRequest
from actors.plugins.http.server.writer import Writer

__all__ = ["Answer", "Endpoint", "Route", "split_address"]

#: What a route returns: status, headers, body.
Answer = tuple[int, list[tuple[str, str]], bytes]
#: A route gets the decoded path and the query (every value of every key) and answers.
Route = Callable[[str, dict[str, list[str]]], Answer]


def split_address(address: str) -> tuple[str, int]:
    """``host:port``, ``:port``, ``[::1]:port`` (``tcp://`` allowed) → ``(host, port)``.

    An empty host means every IPv4 interface, as Go's listener does for ``:2112``.
    """
    text = address.strip().removeprefix("tcp://")
    if text.startswith("["):
        host, sep, port_text = text[1:].partition("]:")
        if not sep:
            raise ValueError(f"bad address {address!r}: write an IPv6 host as [::1]:2112")
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep:
            raise ValueError(
                f"bad address {address!r}: expected host:port, e.g. 127.0.0.1:2112 or :2112"
            )
    if not (port_text.isascii() and port_text.isdigit()) or int(port_text) > 65535:
        raise ValueError(f"bad address {address!r}: the port must be a number in 0..65535")
    return host or "0.0.0.0", int(port_text)


class Endpoint:
    """Serves ``route`` on ``address``; ``start`` binds (port 0 picks a free one)."""

    def __init__(
        self,
        address: str,
        route: Route,
        *,
        timeout: float = 60.0,
        logger: logging.Logger | None = None,
    ) -> None:
        host, port = split_address(address)
        self._route = route
        self._server = HttpServer(
            host,
            port,
            self._handle,
            max_request_size=1024 * 1024,  # probes and scrapes carry no body
            read_timeout=timeout,
            write_timeout=timeout,
            keepalive_timeout=timeout,
            logger=logger,
        )

    @property
    def address(self) -> tuple[str, int]:
        """The bound address (the real port when 0 was asked)."""
        return self._server.address

    def start(self) -> None:
        """Bind and accept on the hub; raises ``OSError`` when the address is taken."""
        self._server.start()

    def stop(self, timeout: float = 1.0) -> None:
        """Stop accepting; requests being answered get ``timeout`` seconds to finish."""
        self._server.stop(timeout)

    def _handle(self, request: HttpRequest, writer: Writer) -> None:
        path = request.path.decode("latin-1")
        query = parse_qs(request.query.decode("latin-1"), keep_blank_values=True)
        status, headers, body = self._route(path, query)
        writer.start(status, headers)
        writer.finish(body)
