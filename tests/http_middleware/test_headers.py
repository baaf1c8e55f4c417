"""``headers``: CORS preflights answered by the server, CORS and static headers on answers."""

from __future__ import annotations

import json
from typing import Any

from tests.support.http_client import request
from tests.support.http_servers import Server
from tests.support.hub import call

from .conftest import Start

CORS = {
    "allowed_origin": "https://app.example.com, https://*.example.org",
    "allowed_headers": "X-Token, Content-Type",
    "allowed_methods": "GET,PUT,DELETE",
    "allow_credentials": True,
    "exposed_headers": "X-Total, X-Page",
    "max_age": 600,
}


def _headers(mw: Start, kind: str = "wsgi", **headers: Any) -> Server:
    return mw(["headers"], kind, headers=headers)


def _preflight(origin: str, method: str = "PUT", req_headers: str = "") -> dict[str, str]:
    out = {"Origin": origin, "Access-Control-Request-Method": method}
    if req_headers:
        out["Access-Control-Request-Headers"] = req_headers
    return out


def test_an_allowed_preflight_is_answered_by_the_server(mw: Start) -> None:
    server = _headers(mw, cors=CORS)
    headers = _preflight("https://app.example.com", "put", "x-token")
    r = call(request, server.addr, "OPTIONS", "/anything", None, headers)
    assert (r.status, r.body) == (200, b"")
    assert r.header("Access-Control-Allow-Origin") == "https://app.example.com"
    assert r.header("Access-Control-Allow-Methods") == "PUT"
    assert r.header("Access-Control-Allow-Headers") == "x-token"
    assert r.header("Access-Control-Allow-Credentials") == "true"
    assert r.header("Access-Control-Max-Age") == "600"
    assert "Origin" in (r.header("Vary") or "")
    wildcard = _preflight("https://shop.example.org", "DELETE")
    r = call(request, server.addr, "OPTIONS", "/x", None, wildcard)
    assert r.header("Access-Control-Allow-Origin") == "https://shop.example.org"
    assert server.execs() == 0, "a preflight must not reach a worker"


def test_a_refused_preflight_has_no_allow_headers(mw: Start) -> None:
    server = _headers(mw, cors=CORS)
    for headers in (
        _preflight("https://evil.example.net"),
        _preflight("https://app.example.com", "PATCH"),
        _preflight("https://app.example.com", "PUT", "X-Token, X-Other"),
    ):
        r = call(request, server.addr, "OPTIONS", "/x", None, headers)
        assert r.status == 200, headers
        assert r.header("Access-Control-Allow-Origin") is None, headers
        assert r.header("Access-Control-Allow-Methods") is None, headers
    assert server.execs() == 0


def test_simple_requests_get_cors_headers_when_the_origin_is_allowed(mw: Start, kind: str) -> None:
    server = _headers(mw, kind, cors=CORS)
    r = call(request, server.addr, "GET", "/echo", None, {"Origin": "https://app.example.com"})
    assert r.status == 200, r
    assert r.header("Access-Control-Allow-Origin") == "https://app.example.com"
    assert r.header("Access-Control-Expose-Headers") == "X-Total, X-Page"
    assert r.header("Access-Control-Allow-Credentials") == "true"
    assert r.header("Vary") == "Origin"
    r = call(request, server.addr, "GET", "/echo", None, {"Origin": "https://evil.example.net"})
    assert r.status == 200 and r.header("Access-Control-Allow-Origin") is None
    # OPTIONS without Access-Control-Request-Method is no preflight: the worker answers it.
    r = call(request, server.addr, "OPTIONS", "/nothing", None, {"Origin": "https://a.b"})
    assert r.status == 404 and r.body == b"from worker /nothing"


def test_defaults_allow_every_origin_with_a_star(mw: Start) -> None:
    server = _headers(mw, cors={})
    r = call(request, server.addr, "GET", "/echo", None, {"Origin": "https://anyone.test"})
    assert r.header("Access-Control-Allow-Origin") == "*"
    r = call(request, server.addr, "OPTIONS", "/x", None, _preflight("https://a.test", "POST"))
    assert r.header("Access-Control-Allow-Origin") == "*"
    assert r.header("Access-Control-Allow-Methods") == "POST"
    r = call(request, server.addr, "OPTIONS", "/x", None, _preflight("https://a.test", "PUT"))
    assert r.header("Access-Control-Allow-Methods") is None  # default methods: GET, POST, HEAD


def test_allowed_origin_regex(mw: Start) -> None:
    server = _headers(mw, cors={"allowed_origin_regex": r"^https://[a-z]+\.regex\.test$"})
    ok = call(request, server.addr, "GET", "/echo", None, {"Origin": "https://abc.regex.test"})
    assert ok.header("Access-Control-Allow-Origin") == "https://abc.regex.test"
    bad = call(request, server.addr, "GET", "/echo", None, {"Origin": "https://a1.regex.test"})
    assert bad.header("Access-Control-Allow-Origin") is None


def test_static_request_and_response_headers(mw: Start, kind: str) -> None:
    server = _headers(
        mw, kind, request={"X-From-Server": "greenrunner"}, response={"X-Powered-By": "gr"}
    )
    r = call(request, server.addr, "GET", "/echo")
    assert r.status == 200 and r.header("X-Powered-By") == "gr"
    seen = json.loads(r.body)
    if kind == "php":
        assert seen["headers"]["X-From-Server"] == ["greenrunner"]
    else:
        assert seen["HTTP_X_FROM_SERVER"] == "greenrunner"
    r = call(request, server.addr, "GET", "/missing")
    assert r.status == 404 and r.header("X-Powered-By") == "gr"


def test_preflights_get_the_static_response_headers_too(mw: Start) -> None:
    server = _headers(mw, cors={}, response={"X-Powered-By": "gr"})
    r = call(request, server.addr, "OPTIONS", "/x", None, _preflight("https://a.test", "GET"))
    assert r.header("X-Powered-By") == "gr" and r.header("Access-Control-Allow-Origin") == "*"
