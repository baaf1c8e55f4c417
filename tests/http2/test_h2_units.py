"""The pure translations between HTTP/2 fields and the handler's request and headers."""

from __future__ import annotations

import pytest

from actors.plugins.http.server.h2.request import RequestHeadError, build_request
from actors.plugins.http.server.h2.writer import h2_headers


def test_response_fields_are_sanitised_like_http_1_1():
    fields = h2_headers(
        200,
        [
            ("Content-Type", "text/plain"),
            ("Connection", "close"),
            ("Transfer-Encoding", "chunked"),
            ("Keep-Alive", "timeout=5"),
            ("Bad Name", "x"),
            ("X-Split", "a\r\nInjected: yes"),
            ("X-Utf8", "é"),
            ("Date", "Mon, 01 Jan 2024 00:00:00 GMT"),
        ],
        date=True,
    )
    assert fields == [
        (b":status", b"200"),
        (b"content-type", b"text/plain"),
        (b"x-split", b"a  Injected: yes"),
        (b"x-utf8", "é".encode()),
        (b"date", b"Mon, 01 Jan 2024 00:00:00 GMT"),  # the handler's, not a second one
    ]
    assert [n for n, _ in h2_headers(204, [], date=True)] == [b":status", b"date"]


def test_request_from_pseudo_headers():
    request = build_request(
        [
            (b":method", b"POST"),
            (b":scheme", b"https"),
            (b":authority", b"example.com:8443"),
            (b":path", b"/a/b?x=1&y=2"),
            (b"cookie", b"a=1"),
            (b"x-one", b"1"),
            (b"cookie", b"b=2"),
        ],
        b"body",
        ("10.0.0.1", 5555),
        "https",
    )
    assert (request.method, request.version, request.scheme) == ("POST", "HTTP/2.0", "https")
    assert (request.target, request.path, request.query) == (b"/a/b?x=1&y=2", b"/a/b", b"x=1&y=2")
    assert request.host == "example.com:8443"
    assert request.headers == [("host", "example.com:8443"), ("x-one", "1"), ("cookie", "a=1; b=2")]
    assert request.body == b"body"


@pytest.mark.parametrize(
    "fields",
    [
        [(b":method", b"GET")],
        [(b":method", b"CONNECT"), (b":authority", b"x:443")],
        [(b":method", b"GET"), (b":path", b"relative")],
    ],
)
def test_requests_the_handler_cannot_take_are_refused(fields):
    with pytest.raises(RequestHeadError):
        build_request(fields, b"", ("127.0.0.1", 1), "http")
