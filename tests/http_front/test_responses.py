"""Response side: framing, streaming, bodiless responses, 1xx, handler failures."""

from __future__ import annotations

import http.client
import socket

import gevent

from tests.support.http_wire import exchange, parse_responses, read_all, read_until
from tests.support.hub import call


def test_whole_response_has_length_date_and_no_server_header(serve):
    def handler(req, resp):
        resp.start(
            201,
            [("Content-Type", "application/json"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
        )
        resp.finish(b'{"ok":true}')

    server = serve(handler)
    data = call(exchange, server.address, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    ((status, headers, body),) = parse_responses(data)
    assert (status, body) == (201, b'{"ok":true}')
    names = [k for k, _ in headers]
    assert names.count("Set-Cookie") == 2
    assert ("Content-Length", "11") in headers
    assert "Date" in names
    assert "Server" not in names
    assert data.startswith(b"HTTP/1.1 201 Created\r\n")


def test_unknown_status_uses_go_reason(serve):
    def handler(req, resp):
        resp.start(599, [])
        resp.finish()

    server = serve(handler)
    data = call(exchange, server.address, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 599 status code 599\r\n")


def test_streaming_response_is_chunked(serve):
    def handler(req, resp):
        resp.start(200, [("Content-Type", "text/plain")])
        for i in range(5):
            resp.write(b"part%d;" % i)
            gevent.sleep(0.01)
        resp.finish(b"end")

    server = serve(handler)

    def client():
        conn = http.client.HTTPConnection(*server.address, timeout=10)
        conn.request("GET", "/stream")
        resp = conn.getresponse()
        return resp.status, resp.getheader("Transfer-Encoding"), resp.read()

    assert call(client) == (200, "chunked", b"part0;part1;part2;part3;part4;end")
    raw = call(exchange, server.address, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"Content-Length" not in head
    assert body == (
        b"6\r\npart0;\r\n6\r\npart1;\r\n6\r\npart2;\r\n6\r\npart3;\r\n6\r\npart4;\r\n"
        b"3\r\nend\r\n0\r\n\r\n"
    )


def test_streaming_with_declared_length_is_not_chunked(serve):
    def handler(req, resp):
        resp.start(200, [("Content-Length", "6")])
        resp.write(b"abc")
        resp.write(b"def")
        resp.finish()

    server = serve(handler)
    raw = call(exchange, server.address, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert raw.endswith(b"\r\nContent-Length: 6\r\nConnection: close\r\n\r\nabcdef")


def test_streaming_to_http10_is_close_delimited(serve):
    def handler(req, resp):
        resp.start(200, [])
        resp.write(b"one ")
        resp.write(b"two")
        resp.finish()

    server = serve(handler)
    raw = call(exchange, server.address, b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"chunked" not in head and b"Content-Length" not in head
    assert body == b"one two"  # and the server closed (exchange returned without timeout)


def test_trailers_follow_a_chunked_body(serve):
    def handler(req, resp):
        resp.start(200, [("Trailer", "X-Checksum")])
        resp.finish(b"data", trailers=[("X-Checksum", "abc")])

    server = serve(handler)
    raw = call(exchange, server.address, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert raw.endswith(b"\r\n\r\n4\r\ndata\r\n0\r\nX-Checksum: abc\r\n\r\n")


def test_head_has_no_body(serve):
    def handler(req, resp):
        resp.start(200, [("Content-Type", "text/plain")])
        resp.finish(b"x" * 100)

    server = serve(handler)
    raw = call(
        exchange,
        server.address,
        b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    (head_status, head_headers, head_body), (get_status, _, get_body) = parse_responses(
        raw, ["HEAD", "GET"]
    )
    assert (head_status, head_body) == (200, b"")
    assert ("Content-Length", "100") in head_headers
    assert raw.count(b"x" * 100) == 1  # only the GET carried it
    assert (get_status, get_body) == (200, b"x" * 100)


def test_head_with_streaming_handler_sends_no_body(serve):
    def handler(req, resp):
        resp.start(200, [])
        resp.write(b"ignored")
        resp.finish(b"also ignored")

    server = serve(handler)
    raw = call(exchange, server.address, b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert raw.endswith(b"\r\n\r\n")
    assert b"ignored" not in raw and b"chunked" not in raw


def test_204_and_304_have_no_body_nor_length(serve):
    def handler(req, resp):
        code = int(req.path[1:])
        resp.start(code, [("Content-Length", "5"), ("ETag", '"e"')])
        resp.finish(b"oops!")

    server = serve(handler)
    raw = call(
        exchange,
        server.address,
        b"GET /204 HTTP/1.1\r\nHost: x\r\n\r\nGET /304 HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /200 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    assert b"oops!" not in raw.split(b"HTTP/1.1 200 OK")[0]
    r204, r304, r200 = parse_responses(raw)
    for _status, headers, body in (r204, r304):
        names = [k.lower() for k, _ in headers]
        assert body == b""
        assert "content-length" not in names and "transfer-encoding" not in names
    assert (r204[0], r304[0], r200[0], r200[2]) == (204, 304, 200, b"oops!")


def test_handler_exception_is_500(serve, caplog):
    def handler(req, resp):
        resp.start(200, [])
        raise RuntimeError("boom")

    server = serve(handler)
    raw = call(exchange, server.address, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    ((status, _, body),) = parse_responses(raw)
    assert (status, body) == (500, b"500 Internal Server Error")
    assert any("handler failed" in r.getMessage() for r in caplog.records)


def test_handler_exception_mid_stream_closes_the_connection(serve):
    def handler(req, resp):
        resp.write(b"partial")
        raise RuntimeError("boom")

    server = serve(handler)
    raw = call(exchange, server.address, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert raw.endswith(b"7\r\npartial\r\n")  # no terminating chunk, then EOF


def test_handler_returning_without_finish_is_finished(serve):
    def handler(req, resp):
        resp.start(202, [])

    server = serve(handler)
    raw = call(exchange, server.address, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    ((status, headers, body),) = parse_responses(raw)
    assert (status, body) == (202, b"")
    assert ("Content-Length", "0") in headers


def test_early_hints_then_final_response(serve):
    def handler(req, resp):
        resp.send_informational(103, [("Link", "</app.css>; rel=preload")])
        resp.start(404, [("Content-Type", "text/plain")])
        resp.finish(b"nope")

    server = serve(handler)
    raw = call(exchange, server.address, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert raw.startswith(
        b"HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload\r\n\r\n"
        b"HTTP/1.1 404 Not Found\r\n"
    )
    final = raw.split(b"\r\n\r\n", 1)[1]
    assert b"Link:" not in final


def test_header_injection_is_neutralised(serve):
    def handler(req, resp):
        resp.start(
            200,
            [
                ("X-Evil", "a\r\nSet-Cookie: pwned=1"),
                ("Bad Name", "v"),
                ("Transfer-Encoding", "gzip"),
            ],
        )
        resp.finish(b"ok")

    server = serve(handler)
    raw = call(exchange, server.address, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    ((_, headers, body),) = parse_responses(raw)
    assert ("X-Evil", "a  Set-Cookie: pwned=1") in headers
    assert "Set-Cookie" not in dict(headers)
    assert "Bad Name" not in dict(headers)
    assert "Transfer-Encoding" not in dict(headers)
    assert body == b"ok"


def test_non_latin1_header_value_is_sent_as_utf8(serve):
    def handler(req, resp):
        resp.start(200, [("X-Name", "Ω-caf\xe9")])
        resp.finish()

    server = serve(handler)
    raw = call(exchange, server.address, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert "X-Name: Ω-café\r\n".encode() in raw


def test_handler_connection_close_is_honoured(serve):
    def handler(req, resp):
        resp.start(200, [("Connection", "close")])
        resp.finish(b"bye")

    server = serve(handler)

    def client():
        with socket.create_connection(server.address) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            return read_all(sock)

    raw = call(client)
    assert b"\r\nConnection: close\r\n" in raw and raw.endswith(b"bye")


def test_access_log_callback(serve):
    entries = []
    server = serve(lambda req, resp: resp.finish(b"12345"), access_log=lambda *a: entries.append(a))
    call(exchange, server.address, b"GET /log HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    ((req, status, size, elapsed),) = entries
    assert (req.path, status) == (b"/log", 200)
    assert size > 5 and elapsed >= 0


def test_inflight_counts_requests_inside_the_handler(serve):
    seen = []

    def handler(req, resp):
        seen.append(server.inflight)
        resp.finish()

    server = serve(handler)
    call(exchange, server.address, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert seen == [1]
    assert server.inflight == 0


def test_second_request_after_100_continue_interim(serve):
    """The interim 100 does not disturb framing of the final response on a kept connection."""
    server = serve(lambda req, resp: resp.finish(req.body.upper()))

    def client():
        with socket.create_connection(server.address) as sock:
            sock.sendall(
                b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"
            )
            read_until(sock, b"100 Continue\r\n\r\n")
            sock.sendall(b"abc")
            first = read_until(sock, b"ABC")
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return first + read_all(sock)

    raw = call(client)
    statuses = [r[0] for r in parse_responses(raw)]
    assert statuses == [200, 200]


def test_large_response_body(serve):
    payload = bytes(range(256)) * 8192  # 2 MiB: head and body go out in two sends

    def handler(req, resp):
        resp.start(200, [("Content-Type", "application/octet-stream")])
        resp.finish(payload)

    server = serve(handler)

    def client():
        conn = http.client.HTTPConnection(*server.address, timeout=10)
        bodies = []
        for _ in range(2):  # the connection stays usable after a large body
            conn.request("GET", "/big")
            bodies.append(conn.getresponse().read())
        return bodies

    assert call(client) == [payload, payload]


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
