"""``http.ssl.redirect``: the plain listener answers 308 to https with HSTS (RoadRunner's
``middleware.Redirect``), and no request reaches a worker."""

from __future__ import annotations

import pytest

from actors.plugins.http.server.redirect import HSTS, tls_host
from tests.support.http_wire import exchange
from tests.support.hub import call
from tests.support.tls import TlsServers, client_context, https_get, tls_address


def _response(addr: tuple[str, int], request: bytes) -> tuple[str, dict[str, str], bytes]:
    data = call(exchange, addr, request)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers, body


def test_plain_requests_are_redirected_to_the_tls_listener(tls_servers: TlsServers, certs):
    server = tls_servers(
        http={"address": "127.0.0.1:0", "ssl": tls_servers.ssl(redirect=True)},
        pool={"num_workers": 1},
    )
    tls_port = tls_address(server)[1]
    execs = server.execs()
    status, headers, body = _response(
        server.addr,
        b"GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: example.com:8080\r\nConnection: close\r\n\r\n",
    )
    location = f"https://example.com:{tls_port}/a/b?x=1&y=%20"
    assert status == "HTTP/1.1 308 Permanent Redirect"
    assert headers["location"] == location
    assert headers["strict-transport-security"] == HSTS
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert (
        body == f'<a href="{location.replace("&", "&amp;")}">Permanent Redirect</a>.\n\n'.encode()
    )
    status, headers, body = _response(
        server.addr,
        b"POST /form HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n"
        b"Connection: close\r\n\r\nx=1",
    )
    assert status == "HTTP/1.1 308 Permanent Redirect"
    assert headers["location"] == f"https://example.com:{tls_port}/form"
    assert body == b""
    assert server.execs() == execs  # redirects never reach a worker
    # ... and the TLS listener serves
    assert call(https_get, tls_address(server), "/pid", client_context(certs))[0] == 200
    assert server.execs() == execs + 1


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("example.com:8080", 443, "example.com"),
        ("example.com", 8443, "example.com:8443"),
        ("[::1]:80", 443, "[::1]"),
        ("[::1]", 8443, "[::1]:8443"),
    ],
)
def test_tls_host_is_roadrunners_tlsaddr(host: str, port: int, expected: str):
    assert tls_host(host, port) == expected
