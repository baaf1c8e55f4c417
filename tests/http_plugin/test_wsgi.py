"""The same paths through the WSGI adapter: ``python -m relays.wsgi tests.http_plugin.apps:app``."""

from __future__ import annotations

import hashlib
import json
import os
import socket

import pytest

from tests.support.http_client import TIMEOUT, RawReader, body_of, raw_exchange, request
from tests.support.http_servers import Server, Servers, wsgi_cmd
from tests.support.hub import call, wait_for

from .test_requests import _multipart


@pytest.fixture
def wsgi(servers: Servers) -> Server:
    return servers(wsgi_cmd("app"), pool={"num_workers": 1})


def test_wsgi_environ_of_a_get(wsgi):
    headers = [("X-Multi", "one"), ("x-multi", "two"), ("Cookie", "a=1"), ("Cookie", "b=2")]
    r = call(request, wsgi.addr, "GET", "/environ?q=a%20b&q=c", None, headers)
    assert r.status == 200, r
    env = r.json()
    host, port = wsgi.addr
    assert env["REQUEST_METHOD"] == "GET"
    assert env["PATH_INFO"] == "/environ"
    assert env["QUERY_STRING"] == "q=a%20b&q=c"
    assert env["HTTP_HOST"] == f"{host}:{port}"
    assert (env["SERVER_NAME"], env["SERVER_PORT"]) == (host, str(port))
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["HTTP_X_MULTI"] == "one,two"
    assert env["HTTP_COOKIE"] == "a=1; b=2"
    assert env["wsgi.url_scheme"] == "http"


def test_wsgi_post_body(wsgi):
    body = os.urandom(2 * 1024 * 1024)
    r = call(request, wsgi.addr, "POST", "/environ", body, {"Content-Type": "application/x-bin"})
    assert r.status == 200, r
    env = r.json()
    assert env["CONTENT_LENGTH"] == str(len(body))
    assert env["body_sha256"] == hashlib.sha256(body).hexdigest()


def _stream(addr: tuple[str, int]) -> tuple[int, list[tuple[str, str]], list[bytes]]:
    with socket.create_connection(addr, timeout=TIMEOUT) as sock:
        sock.sendall(b"GET /stream?n=100 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        reader = RawReader(sock)
        status, headers = reader.head()
        return status, headers, reader.chunks()


def test_wsgi_streamed_response(wsgi):
    status, headers, chunks = call(_stream, wsgi.addr)
    assert status == 200
    assert ("Transfer-Encoding", "chunked") in headers
    assert b"".join(chunks) == b"".join(f"wsgi-{i}\n".encode() for i in range(100))
    assert len(chunks) > 1  # streamed as produced, not buffered into one piece


def test_wsgi_multipart_files_rebuilt_for_the_app(wsgi):
    first, second = os.urandom(100_000), b"plain text\n" * 100
    boundary = "wsgi-b0undary"
    body = _multipart(
        boundary,
        [
            ("title", None, None, b"hi"),
            ("a", "one.bin", "application/octet-stream", first),
            ("b", "two.txt", "text/plain", second),
        ],
    )
    r = call(
        request,
        wsgi.addr,
        "POST",
        "/form",
        body,
        {"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status == 200, r
    got = r.json()
    assert got["fields"] == {"title": "hi"}
    files = sorted(got["files"], key=lambda f: f["field"])
    assert [(f["field"], f["filename"], f["type"]) for f in files] == [
        ("a", "one.bin", "application/octet-stream"),
        ("b", "two.txt", "text/plain"),
    ]
    assert [f["sha256"] for f in files] == [
        hashlib.sha256(first).hexdigest(),
        hashlib.sha256(second).hexdigest(),
    ]
    wait_for(lambda: not os.listdir(wsgi.uploads), timeout=3, what="uploads dir to be empty")


def test_wsgi_app_exception_is_500_and_the_worker_keeps_serving(wsgi):
    (pid,) = wsgi.pids()
    r = call(request, wsgi.addr, "GET", "/boom")
    assert r.status == 500
    assert b"boom" not in r.body  # the traceback goes to stderr, not to the client
    r = call(request, wsgi.addr, "GET", "/environ")
    assert r.status == 200
    assert r.json()["pid"] == pid


def test_wsgi_app_sees_pep3333_strings_for_non_ascii_request_bytes(servers):
    s = servers(wsgi_cmd("header_bytes"))
    raw = call(
        raw_exchange,
        s.addr,
        b"GET /environ HTTP/1.1\r\nHost: t\r\nX-Name: caf\xc3\xa9\r\nConnection: close\r\n\r\n",
    )
    env = json.loads(body_of(raw))
    # PEP 3333: the wire bytes, one latin-1 character each.
    assert env["HTTP_X_NAME"] == "caf\u00c3\u00a9"


def test_wsgi_latin1_header_value_leaves_as_its_bytes(servers):
    s = servers(wsgi_cmd("header_bytes"))
    raw = call(
        raw_exchange, s.addr, b"GET /latin1-header HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n"), raw
    assert b"X-Utf8: caf\xc3\xa9\r\n" in raw
