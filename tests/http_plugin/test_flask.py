"""A real WSGI framework (Flask) served through `python -m relays.wsgi`."""

from __future__ import annotations

import hashlib
import json
import sys

import pytest

from tests.support.http_client import get, request
from tests.support.hub import call
from tests.support.workers import REPO

pytest.importorskip("flask")


def flask_cmd() -> list[str]:
    return [
        sys.executable,
        "-m",
        "relays.wsgi",
        "--chdir",
        str(REPO),
        "tests.http_plugin.flask_app:app",
    ]


@pytest.fixture
def flask_server(servers):
    return servers(flask_cmd(), pool={"num_workers": 1})


def test_routing_query_headers_cookies(flask_server):
    r = call(
        request,
        flask_server.addr,
        "GET",
        "/hello/world?x=1&x=2&y=%C3%A9",
        None,
        [("User-Agent", "greenrunner-test"), ("Cookie", "session=abc%20def")],
    )
    assert r.status == 200
    data = r.json()
    assert data["name"] == "world"
    assert data["args"] == {"x": ["1", "2"], "y": ["é"]}
    assert data["agent"] == "greenrunner-test"
    assert data["cookie"] == "abc%20def"  # WSGI apps get the raw Cookie header
    assert data["url"].startswith("http://127.0.0.1:")


def test_urlencoded_and_multipart_forms_reach_flask(flask_server):
    r = call(
        request,
        flask_server.addr,
        "POST",
        "/form",
        b"a=1&b=two+words&list=x&list=y",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status == 200
    assert r.json()["form"]["a"] == ["1"]
    assert r.json()["form"]["b"] == ["two words"]

    payload = bytes(range(256)) * 400
    boundary = "greenrunnerboundary"
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="title"\r\n\r\n'
            "report\r\n"
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="doc"; filename="data.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + payload
        + f"\r\n--{boundary}--\r\n".encode()
    )
    r = call(
        request,
        flask_server.addr,
        "POST",
        "/form",
        body,
        {"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status == 200, r.body
    data = r.json()
    assert data["form"] == {"title": ["report"]}
    assert data["files"]["doc"] == {
        "filename": "data.bin",
        "mimetype": "application/octet-stream",
        "sha256": hashlib.sha256(payload).hexdigest(),
    }


def test_json_body_streaming_redirect_and_errors(flask_server):
    r = call(
        request,
        flask_server.addr,
        "POST",
        "/json",
        json.dumps({"k": [1, 2]}).encode(),
        {"Content-Type": "application/json"},
    )
    assert r.json() == {"got": {"k": [1, 2]}}
    r = call(get, flask_server.addr, "/stream")
    assert r.body == b"".join(f"{i}\n".encode() for i in range(10))
    r = call(get, flask_server.addr, "/redirect")
    assert r.status == 302 and r.header("Location") == "/hello/there"
    r = call(get, flask_server.addr, "/boom")
    assert r.status == 500
    r = call(get, flask_server.addr, "/nope")
    assert r.status == 404
    assert call(get, flask_server.addr, "/hello/again").status == 200  # the worker lives on
