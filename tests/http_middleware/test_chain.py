"""The chain: RoadRunner's order (the last name sees the request first), unknown names warned
about, unlisted middleware not in the path at all."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import pytest

from actors.config import load_config
from tests.config.helpers import write
from tests.support.http_client import request
from tests.support.hub import call

from .conftest import Start


@pytest.fixture
def public(short_tmp: Path) -> Path:
    root = short_tmp / "public"
    root.mkdir()
    (root / "page.txt").write_text("static page " * 200)
    return root


def test_the_last_listed_middleware_sees_the_request_first(mw: Start, public: Path) -> None:
    headers = {"response": {"X-Headers": "yes"}}
    # headers listed last: it wraps static, so even a static file gets its response header.
    outer = mw(["static", "headers"], static={"dir": str(public)}, headers=headers)
    r = call(request, outer.addr, "GET", "/page.txt")
    assert r.status == 200 and r.header("X-Headers") == "yes"
    # static listed last: it answers before headers ever runs.
    inner = mw(["headers", "static"], static={"dir": str(public)}, headers=headers)
    r = call(request, inner.addr, "GET", "/page.txt")
    assert r.status == 200 and r.header("X-Headers") is None
    r = call(request, inner.addr, "GET", "/missing.txt")
    assert r.status == 404 and r.header("X-Headers") == "yes"


def test_gzip_outside_static_compresses_static_files(mw: Start, public: Path) -> None:
    server = mw(["static", "gzip"], static={"dir": str(public)})
    r = call(request, server.addr, "GET", "/page.txt", None, {"Accept-Encoding": "gzip"})
    assert r.header("Content-Encoding") == "gzip"
    assert gzip.decompress(r.body) == (public / "page.txt").read_bytes()
    assert r.header("Accept-Ranges") is None  # a range of the gzip stream would be wrong


def test_no_middleware_leaves_the_plugin_handler_bare(mw: Start) -> None:
    server = mw([])
    assert server.plugin.server.handler == server.plugin.handle
    listed = mw(["gzip"])
    assert listed.plugin.server.handler != listed.plugin.handle


def test_unknown_and_unconfigured_names_are_warned_about_and_the_server_runs(
    mw: Start, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        server = mw(["no_such_thing", "static", "cache", "gzip"])
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "'no_such_thing' does not exist" in text
    assert "middleware 'static' is listed but http.static is missing" in text
    assert "middleware 'cache' is not implemented by Greenrunner" in text
    r = call(request, server.addr, "GET", "/text?n=5000", None, {"Accept-Encoding": "gzip"})
    assert r.status == 200 and r.header("Content-Encoding") == "gzip"


def test_middleware_settings_load_from_a_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "public").mkdir()
    path = write(
        tmp_path,
        f"""
        version: "3"
        server:
          command: php w.php
        http:
          address: 127.0.0.1:8080
          middleware: [static, headers, proxy_ip_parser]
          trusted_subnets: ["10.0.0.0/8", "2001:db8::/32", 192.168.1.1]
          static:
            dir: {tmp_path / "public"}
            forbid: [PHP, ".htaccess"]
            allow: [".php", css]
            calculate_etag: true
            gzip_enabled: true
            response: {{X-Static: "1"}}
          headers:
            request: {{X-Req: a}}
            response: {{X-Resp: 2}}
            cors:
              allowed_origin: "https://a.test,https://b.test"
              allowed_methods: GET, PUT
              max_age: 60
        """,
    )
    with caplog.at_level(logging.WARNING, logger="greenrunner.config"):
        http = load_config(path, environ={}).http
    assert "http.static.gzip_enabled: is not supported" in caplog.text
    assert http is not None and http.static is not None and http.headers is not None
    assert http.trusted_subnets == ["10.0.0.0/8", "2001:db8::/32", "192.168.1.1/32"]
    assert http.static.dir == str((tmp_path / "public").resolve())
    assert http.static.forbid == [".php", ".htaccess"]
    assert http.static.allow == [".css"]  # forbidden wins over allowed, as upstream
    assert http.static.calculate_etag and not http.static.weak
    assert http.static.response == {"X-Static": "1"}
    assert http.headers.request == {"X-Req": "a"} and http.headers.response == {"X-Resp": "2"}
    cors = http.headers.cors
    assert cors is not None
    assert cors.allowed_origin == ["https://a.test", "https://b.test"]
    assert cors.allowed_methods == ["GET", "PUT"] and cors.max_age == 60


def test_defaults_when_the_keys_are_absent(tmp_path: Path) -> None:
    path = write(tmp_path, 'version: "3"\nserver: {command: x}\nhttp: {address: ":8080"}\n')
    http = load_config(path, environ={}).http
    assert http is not None
    assert http.static is None and http.headers is None
    assert "127.0.0.0/8" in http.trusted_subnets and "::1/128" in http.trusted_subnets


def test_the_config_knows_what_the_chain_implements() -> None:
    from actors.config.schema.http import KNOWN_MIDDLEWARE
    from actors.config.schema.http_middleware import IMPLEMENTED_MIDDLEWARE
    from actors.plugins.http.middleware import IMPLEMENTED

    assert IMPLEMENTED == IMPLEMENTED_MIDDLEWARE
    assert IMPLEMENTED <= KNOWN_MIDDLEWARE
