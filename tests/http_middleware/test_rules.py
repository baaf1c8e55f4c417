"""The rules behind the middleware, without a server: ranges, validators, Accept-Encoding,
proxy headers and CORS decisions, each against what the upstream Go code does."""

from __future__ import annotations

import pytest

from actors.config.model import CorsConfig
from actors.plugins.http.middleware.conditional import (
    Precondition,
    RangeError,
    check_preconditions,
    parse_range,
)
from actors.plugins.http.middleware.cors import CorsPolicy
from actors.plugins.http.middleware.gzip import accepts_gzip, compressible
from actors.plugins.http.middleware.proxy_ip import resolve_ip
from actors.plugins.http.middleware.static import content_type, extension


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", None),
        ("bytes=0-0", [(0, 1)]),
        ("bytes=5-", [(5, 95)]),
        ("bytes=-10", [(90, 10)]),
        ("bytes=-500", [(0, 100)]),
        ("bytes=90-200", [(90, 10)]),
        ("bytes=0-9, 20-29", [(0, 10), (20, 10)]),
        ("bytes=0-99,0-99", None),  # more than the file: Go sends it whole
        ("bytes=100-,0-1", [(0, 2)]),  # one range outside is dropped when another overlaps
    ],
)
def test_parse_range(header: str, expected: list[tuple[int, int]] | None) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize("header", ["items=0-1", "bytes=a-b", "bytes=5-1", "bytes=1", "bytes=100-"])
def test_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(RangeError):
        parse_range(header, 100)


SERVE = (Precondition.SERVE, True)
MTIME = 1_700_000_000
LATER = "Wed, 15 Nov 2023 00:00:00 GMT"  # after MTIME (2023-11-14 22:13:20 UTC)
EARLIER = "Tue, 14 Nov 2023 00:00:00 GMT"


@pytest.mark.parametrize(
    ("method", "headers", "etag", "expected"),
    [
        ("GET", {}, '"1-2"', (Precondition.SERVE, True)),
        ("GET", {"if-none-match": '"1-2"'}, '"1-2"', (Precondition.NOT_MODIFIED, False)),
        ("GET", {"if-none-match": 'W/"1-2"'}, '"1-2"', (Precondition.NOT_MODIFIED, False)),
        ("GET", {"if-none-match": '"x", "1-2"'}, '"1-2"', (Precondition.NOT_MODIFIED, False)),
        ("POST", {"if-none-match": "*"}, '"1-2"', (Precondition.FAILED, False)),
        (
            "GET",
            {"if-none-match": '"x"', "if-modified-since": LATER},
            "",
            (Precondition.SERVE, True),
        ),
        ("GET", {"if-modified-since": LATER}, "", (Precondition.NOT_MODIFIED, False)),
        ("GET", {"if-modified-since": EARLIER}, "", (Precondition.SERVE, True)),
        ("GET", {"if-modified-since": "garbage"}, "", (Precondition.SERVE, True)),
        ("GET", {"if-match": '"other"'}, '"1-2"', (Precondition.FAILED, False)),
        ("GET", {"if-match": 'W/"1-2"'}, 'W/"1-2"', (Precondition.FAILED, False)),  # strong only
        ("GET", {"if-unmodified-since": EARLIER}, "", (Precondition.FAILED, False)),
        ("GET", {"if-range": '"1-2"'}, '"1-2"', (Precondition.SERVE, True)),
        ("GET", {"if-range": '"old"'}, '"1-2"', (Precondition.SERVE, False)),
        ("GET", {"if-range": EARLIER}, "", (Precondition.SERVE, False)),
    ],
)
def test_preconditions(
    method: str, headers: dict[str, str], etag: str, expected: tuple[Precondition, bool]
) -> None:
    assert check_preconditions(method, headers, etag, MTIME) == expected


def test_extensions_and_types_as_go() -> None:
    assert extension("/a/b.TXT") == ".txt"
    assert extension("/a.d/file") == ""
    assert extension("/.htaccess") == ".htaccess"
    assert content_type("/x.css") == "text/css; charset=utf-8"
    assert content_type("/x.js") == "text/javascript; charset=utf-8"
    assert content_type("/x.png") == "image/png"
    assert content_type("/x.unknownext") == "application/octet-stream"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("gzip", True),
        ("deflate, gzip;q=0.5", True),
        ("GZIP", True),
        ("*", True),
        ("gzip;q=0", False),
        ("br, deflate", False),
        ("identity", False),
    ],
)
def test_accept_encoding(value: str, expected: bool) -> None:
    assert accepts_gzip(value) is expected


def test_compressible_types() -> None:
    assert compressible("text/html; charset=utf-8") and compressible("")
    assert compressible("image/svg+xml") and compressible("application/json")
    assert not compressible("image/jpeg") and not compressible("video/mp4")
    assert not compressible("application/zip") and not compressible("font/woff2")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("Forwarded", "for=192.0.2.60;proto=http;by=203.0.113.43")], "192.0.2.60"),
        ([("forwarded", 'For="[2001:db8:cafe::17]:4711"')], "2001:db8:cafe::17"),
        ([("Forwarded", "for=192.0.2.43, for=198.51.100.17")], "192.0.2.43"),
        ([("Forwarded", "proto=https"), ("X-Forwarded-For", "1.2.3.4")], ""),  # as upstream
        ([("X-Forwarded-For", "1.2.3.4,5.6.7.8")], "1.2.3.4"),
        ([("X-Real-IP", "9.9.9.9"), ("Cf-Connecting-Ip", "8.8.8.8")], "9.9.9.9"),
        ([("CF-Connecting-IP", "8.8.8.8")], "8.8.8.8"),
        ([("Host", "x")], ""),
    ],
)
def test_resolve_ip(headers: list[tuple[str, str]], expected: str) -> None:
    assert resolve_ip(headers) == expected


def test_cors_decisions() -> None:
    policy = CorsPolicy(CorsConfig(allowed_origin=["https://*.example.com", "https://exact.test"]))
    assert policy.origin_allowed("https://a.example.com")
    assert policy.origin_allowed("HTTPS://EXACT.TEST")
    assert not policy.origin_allowed("https://example.com.evil.test")
    assert not policy.origin_allowed("https://exact.test.evil")
    assert policy.headers_allowed("Accept, content-type, Origin")
    assert not policy.headers_allowed("X-Custom")
    assert (
        dict(policy.preflight("https://a.example.com", "get", ""))["Access-Control-Allow-Origin"]
        == "https://a.example.com"
    )
    assert "Access-Control-Allow-Origin" not in dict(policy.preflight("", "GET", ""))
    assert "Access-Control-Allow-Origin" not in dict(
        policy.actual("https://a.example.com", "DELETE")
    )
