"""Request side: what reaches the handler, and what never does (limits, malformed input)."""

from __future__ import annotations

import http.client
import socket

import pytest

from tests.support.http_wire import exchange, get, parse_responses, read_all, read_until
from tests.support.hub import call


def recorder() -> tuple[list, object]:
    seen: list = []

    def handler(req, resp) -> None:
        seen.append(req)
        resp.start(200, [("Content-Type", "text/plain")])
        resp.finish(b"len=%d" % len(req.body))

    return seen, handler


def test_get_with_query_and_multi_value_headers(serve):
    seen, handler = recorder()
    server = serve(handler)

    def client():
        conn = http.client.HTTPConnection(*server.address, timeout=10)
        conn.putrequest("GET", "/a/b%20c?x=1&x=2&y=%C3%A9", skip_accept_encoding=True)
        conn.putheader("X-Multi", "one")
        conn.putheader("x-lower", "v")
        conn.putheader("X-Multi", "two")
        conn.putheader("X-Latin", "caf\xe9".encode("latin-1"))
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.read()

    status, body = call(client)
    assert (status, body) == (200, b"len=0")
    (req,) = seen
    assert req.method == "GET"
    assert req.version == "HTTP/1.1"
    assert req.target == b"/a/b%20c?x=1&x=2&y=%C3%A9"
    assert req.path == b"/a/b%20c"
    assert req.query == b"x=1&x=2&y=%C3%A9"
    assert req.body == b""
    assert req.keep_alive is True
    host, port = server.address
    assert req.host == f"{host}:{port}"
    assert req.remote_addr[0] == "127.0.0.1"
    assert [h for h in req.headers if h[0] != "Host"] == [
        ("X-Multi", "one"),
        ("x-lower", "v"),
        ("X-Multi", "two"),
        ("X-Latin", "caf\xe9"),
    ]
    assert req.header("x-multi") == "one"


def test_post_with_content_length(serve):
    seen, handler = recorder()
    server = serve(handler)
    payload = bytes(range(256)) * 1000
    status, _, body = call(
        get, server.address, "/up", "POST", payload, {"Content-Type": "application/octet-stream"}
    )
    assert (status, body) == (200, b"len=256000")
    assert seen[0].body == payload
    assert seen[0].method == "POST"


def test_chunked_request_body(serve):
    seen, handler = recorder()
    server = serve(handler)

    def client():
        conn = http.client.HTTPConnection(*server.address, timeout=10)
        conn.request(
            "PUT", "/c", body=iter([b"hello ", b"chunked ", b"world"]), encode_chunked=True
        )
        resp = conn.getresponse()
        return resp.status, resp.read()

    assert call(client) == (200, b"len=19")
    assert seen[0].body == b"hello chunked world"
    assert ("Transfer-Encoding", "chunked") in seen[0].headers


def test_expect_100_continue(serve):
    seen, handler = recorder()
    server = serve(handler)

    def client():
        with socket.create_connection(server.address) as sock:
            sock.sendall(
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
            )
            interim = read_until(sock, b"\r\n\r\n")
            sock.sendall(b"hello")
            final = read_until(sock, b"len=5")
            return interim, final

    interim, final = call(client)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert final.startswith(b"HTTP/1.1 200 OK\r\n")
    assert seen[0].body == b"hello"


def test_expect_100_continue_too_large_is_413_before_body(serve):
    seen, handler = recorder()
    server = serve(handler, max_request_size=1000)
    data = call(
        exchange,
        server.address,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n",
    )
    assert data.startswith(b"HTTP/1.1 413 Request Entity Too Large\r\n")
    assert b"100 Continue" not in data
    assert seen == []


def test_unknown_expectation_is_417(serve):
    seen, handler = recorder()
    server = serve(handler)
    data = call(exchange, server.address, b"GET / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 417 Expectation Failed\r\n")
    assert seen == []


@pytest.mark.parametrize(
    "raw",
    [
        b"THIS IS NOT HTTP\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",  # HTTP/1.1 without Host
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        b"GET /\x7f HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
    ids=[
        "garbage",
        "space-in-name",
        "ctl-in-value",
        "no-host",
        "two-hosts",
        "bad-chunk",
        "cl-and-te",
        "two-cl",
        "bad-url",
    ],
)
def test_malformed_request_is_400_and_never_reaches_handler(serve, raw):
    seen, handler = recorder()
    server = serve(handler)
    data = call(exchange, server.address, raw)
    ((status, headers, _),) = parse_responses(data)
    assert status == 400
    assert ("Connection", "close") in headers
    assert seen == []


def test_http2_version_is_505(serve):
    seen, handler = recorder()
    server = serve(handler)
    data = call(exchange, server.address, b"GET / HTTP/2.0\r\nHost: x\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 505 HTTP Version Not Supported\r\n")
    assert seen == []


def test_oversized_content_length_is_413(serve):
    seen, handler = recorder()
    server = serve(handler, max_request_size=1024)

    def client():
        conn = http.client.HTTPConnection(*server.address, timeout=10)
        conn.request("POST", "/", body=b"x" * 4096)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Connection"), resp.read()

    status, connection, body = call(client)
    assert status == 413
    assert connection == "close"
    assert body == b"413 Request Entity Too Large"
    assert seen == []


def test_oversized_chunked_body_is_413(serve):
    seen, handler = recorder()
    server = serve(handler, max_request_size=1024)

    def client():
        conn = http.client.HTTPConnection(*server.address, timeout=10)
        conn.request("POST", "/", body=iter([b"y" * 600] * 4), encode_chunked=True)
        resp = conn.getresponse()
        return resp.status, resp.read()

    assert call(client)[0] == 413
    assert seen == []


def test_body_exactly_at_limit_is_accepted(serve):
    seen, handler = recorder()
    server = serve(handler, max_request_size=1024)
    data = call(
        exchange,
        server.address,
        b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 1024\r\n\r\n"
        + b"z" * 1024,
    )
    assert parse_responses(data)[0][0] == 200
    assert len(seen[0].body) == 1024


def test_header_section_too_large_is_431(serve):
    seen, handler = recorder()
    server = serve(handler, max_header_size=4096)
    data = call(
        exchange,
        server.address,
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8192 + b"\r\n\r\n",
    )
    assert data.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert seen == []


def test_endless_header_line_is_cut_at_431(serve):
    """A header that never ends must not grow memory without bound."""
    seen, handler = recorder()
    server = serve(handler, max_header_size=1024)

    def client():
        with socket.create_connection(server.address) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Endless: ")
            sock.settimeout(10)
            try:
                for _ in range(200):
                    sock.sendall(b"b" * 8192)
            except OSError:
                pass
            try:
                return sock.recv(4096)
            except OSError as exc:
                return repr(exc).encode()

    data = call(client)
    assert data.startswith(b"HTTP/1.1 431 ") or b"Reset" in data
    assert seen == []


def test_http10_request(serve):
    seen, handler = recorder()
    server = serve(handler)
    data = call(exchange, server.address, b"GET /old?q=1 HTTP/1.0\r\n\r\n")
    ((status, headers, body),) = parse_responses(data)
    assert (status, body) == (200, b"len=0")
    assert "Connection" not in dict(headers)  # 1.0 default: the server closed
    req = seen[0]
    assert (req.version, req.keep_alive, req.path, req.query) == (
        "HTTP/1.0",
        False,
        b"/old",
        b"q=1",
    )


def test_http10_keep_alive(serve):
    seen, handler = recorder()
    server = serve(handler)

    def client():
        with socket.create_connection(server.address) as sock:
            sock.sendall(b"GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            first = read_until(sock, b"len=0")
            sock.sendall(b"GET /2 HTTP/1.0\r\n\r\n")
            return first, read_all(sock)

    first, second = call(client)
    assert b"\r\nConnection: keep-alive\r\n" in first
    assert second.startswith(b"HTTP/1.1 200 OK\r\n")  # same connection, then closed
    assert [r.path for r in seen] == [b"/1", b"/2"]


def test_upgrade_request_with_body_is_served_as_plain_http(serve):
    """We never upgrade (no h2c): the request, body included, is an ordinary request."""
    seen, handler = recorder()
    server = serve(handler)
    data = call(
        exchange,
        server.address,
        b"POST /u HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
        b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"
        b"Content-Length: 5\r\n\r\nhello"
        b"GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    responses = parse_responses(data)
    assert [r[0] for r in responses] == [200, 200]
    assert [(r.path, r.body) for r in seen] == [(b"/u", b"hello"), (b"/next", b"")]


def test_absolute_form_target(serve):
    seen, handler = recorder()
    server = serve(handler)
    call(
        exchange,
        server.address,
        b"GET http://example.com/p/q?z=9 HTTP/1.1\r\nHost: example.com\r\n"
        b"Connection: close\r\n\r\n",
    )
    assert (seen[0].target, seen[0].path, seen[0].query) == (
        b"http://example.com/p/q?z=9",
        b"/p/q",
        b"z=9",
    )


def test_chunked_trailers_are_dropped(serve):
    seen, handler = recorder()
    server = serve(handler)
    call(
        exchange,
        server.address,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"3\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n",
    )
    assert seen[0].body == b"abc"
    assert "X-Trailer" not in dict(seen[0].headers)


def test_endless_trailer_is_cut(serve):
    seen, handler = recorder()
    server = serve(handler, max_header_size=1024)

    def client():
        with socket.create_connection(server.address) as sock:
            sock.sendall(
                b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"3\r\nabc\r\n0\r\nX-Endless: "
            )
            sock.settimeout(10)
            try:
                for _ in range(200):
                    sock.sendall(b"t" * 8192)
            except OSError:
                pass
            return read_all(sock)

    data = call(client)
    assert data.startswith(b"HTTP/1.1 400 ") or data in (b"", b"<<reset>>")
    assert seen == []


def test_large_upload_and_oversized_upload_with_big_body(serve):
    seen, handler = recorder()
    server = serve(handler, max_request_size=4 << 20)
    big = b"u" * (3 << 20)
    assert call(get, server.address, "/up", "POST", big)[2] == b"len=%d" % len(big)
    assert seen[0].body == big
    # Over the limit: the 413 must survive the client still pushing its body (no RST race),
    # as long as what is left fits the bounded drain (a client pushing megabytes more is cut:
    # test_limits.py::test_body_over_max_request_size_is_not_drained_in_full).
    small = serve(handler, max_request_size=64 << 10)
    status, headers, _ = call(get, small.address, "/up", "POST", b"v" * (200 << 10))
    assert (status, headers.get("Connection")) == (413, "close")
    assert len(seen) == 1


def test_upgrade_request_with_body_keeps_its_method_and_version(serve):
    """The body of an Upgrade request is read through a synthetic ``POST`` head; the handler
    must still see the method and version the client sent."""
    seen = []

    def handler(req, resp):
        seen.append((req.method, req.version, req.body))
        resp.finish(b"ok")

    server = serve(handler)
    raw = call(
        exchange,
        server.address,
        b"PUT /u HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n"
        b"Content-Length: 5\r\n\r\nhello"
        b"GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    assert [r[0] for r in parse_responses(raw)] == [200, 200]
    assert seen[0] == ("PUT", "HTTP/1.1", b"hello")
    assert seen[1] == ("GET", "HTTP/1.1", b"")


def test_header_name_caches_do_not_keep_what_clients_send(serve):
    """Header names are decoded once and cached, but a client chooses them: long unique names
    must not pile up in memory (4096 entries of up to 64 KiB each was 256 MiB, kept forever)."""
    from actors.plugins.http.server import header_names as front

    server = serve(lambda req, resp: resp.finish(b"ok"))

    def client() -> None:
        import socket

        with socket.create_connection(server.address) as sock:
            for i in range(200):
                name = b"X-%05d-" % i + b"n" * 20_000
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" + name + b": v\r\n\r\n")
                got = b""
                while not got.endswith(b"ok"):
                    got += sock.recv(65536)

    call(client)
    assert sum(len(name) for name in front._req_names) < 1 << 20
    # Hot names are still cached.
    assert b"Host" in front._req_names
