"""Review findings on the HTTP front (actors/plugins/http/server/), each one a regression test."""

from __future__ import annotations

from ._util import call, exchange, parse_responses


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


def test_header_value_with_escaped_bytes_is_sent_as_those_bytes(serve):
    """Header values are text: non-ASCII goes out as UTF-8, and a lone surrogate from a
    ``surrogateescape`` decode (what the protobuf response decoder produces for non-UTF-8 bytes)
    restores the original byte instead of failing the whole response with a 500."""

    def handler(req, resp):
        resp.start(200, [("X-Text", "caf\xe9"), ("X-Raw", "a\udce9b")])
        resp.finish(b"ok")

    server = serve(handler)
    raw = call(exchange, server.address, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n"), raw
    assert b"X-Text: caf\xc3\xa9\r\n" in raw
    assert b"X-Raw: a\xe9b\r\n" in raw


def test_handler_content_length_must_be_ascii_digits(serve):
    """Go's strconv.ParseInt rules: ``1_0`` or non-ASCII digits are not a Content-Length."""

    def handler(req, resp):
        resp.start(200, [("Content-Length", "1_0")])
        resp.finish()

    server = serve(handler)
    raw = call(exchange, server.address, b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n"), raw
    assert b"Content-Length" not in raw, raw


def test_start_can_be_overridden_until_the_head_is_sent(serve):
    """An error found after ``start`` but before anything was written must be able to replace
    the recorded status and headers (the plugin's 500 after an empty first stream chunk)."""

    def handler(req, resp):
        resp.start(200, [("Content-Type", "application/json"), ("X-Worker", "1")])
        resp.override(500, [("Content-Type", "text/plain; charset=utf-8")])
        resp.finish(b"Internal Server Error\n")

    server = serve(handler)
    raw = call(exchange, server.address, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    ((status, headers, body),) = parse_responses(raw)
    assert status == 500
    assert dict(headers)["Content-Type"] == "text/plain; charset=utf-8"
    assert "X-Worker" not in dict(headers)
    assert body == b"Internal Server Error\n"


def test_handler_failure_on_head_sends_no_body(serve):
    """The 500 the server writes for a failed handler must follow HEAD's framing: a body after
    a HEAD response is read by the client as the start of the next response."""
    calls = []

    def handler(req, resp):
        calls.append(req.method)
        if req.method == "HEAD":
            raise RuntimeError("handler bug")
        resp.finish(b"second")

    server = serve(handler)
    raw = call(
        exchange,
        server.address,
        b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    responses = parse_responses(raw, methods=["HEAD", "GET"])
    assert [(status, body) for status, _, body in responses] == [(500, b""), (200, b"second")]
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"Content-Length: 25" in head  # what the GET would have carried, as Go reports it


def test_304_carries_no_content_type(serve):
    """Go drops Content-Type, Content-Length and Transfer-Encoding from a 304 (RFC 9110 §15.4.5:
    a 304 describes the client's cached representation, not a new one)."""

    def handler(req, resp):
        resp.start(304, [("Content-Type", "text/html"), ("ETag", '"v1"')])
        resp.finish(b"ignored")

    server = serve(handler)
    raw = call(exchange, server.address, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 304 Not Modified\r\n"), raw
    assert b'ETag: "v1"\r\n' in raw
    assert b"Content-Type" not in raw and b"Content-Length" not in raw
    assert raw.endswith(b"\r\n\r\n")


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
