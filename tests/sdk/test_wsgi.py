"""``python -m relays.wsgi`` running real WSGI apps in a real worker process."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.plugins.http.context.body import prepare_body
from actors.plugins.http.context.request import build_request_context
from actors.plugins.http.forms.tree import build_tree
from actors.plugins.http.forms.urlencoded import parse_urlencoded
from relays.frame import CODEC_JSON
from relays.http import Request
from relays.wsgi import build_environ, encode_multipart, encode_urlencoded, load_app
from tests.support.hub import wait_for

from .worker_process import WorkerProcess, context


def spawn(app: str, tmp_path: Path) -> WorkerProcess:
    proc = WorkerProcess(["-m", "relays.wsgi", app], tmp_path / "stderr.log")
    proc.handshake()
    return proc


@pytest.fixture
def hello(tmp_path: Path) -> Iterator[WorkerProcess]:
    proc = spawn("examples.hello:app", tmp_path)
    try:
        yield proc
    finally:
        proc.close()


@pytest.fixture
def apps(tmp_path: Path) -> Iterator[WorkerProcess]:
    proc = spawn("tests.sdk.wsgi_apps:app", tmp_path)
    try:
        yield proc
    finally:
        proc.close()


def server_context(
    method: str, target: str, headers: list[tuple[str, str]], body: bytes, uploads_dir: Path
) -> tuple[bytes, bytes, object]:
    """Build context and body exactly as the server does (context.py + forms.py)."""
    ct = next((v for k, v in headers if k.lower() == "content-type"), None)
    prepared = prepare_body(method, ct, body, uploads_dir=str(uploads_dir))
    ctx = build_request_context(
        remote_addr="127.0.0.1:5000",
        protocol="HTTP/1.1",
        method=method,
        uri=target,
        headers=[("Host", "localhost:8080"), *headers],
        parsed=prepared.parsed,
        uploads=prepared.uploads,
    )
    return ctx, prepared.body, prepared


def test_hello(hello: WorkerProcess) -> None:
    reply = hello.request(context(path="/"))
    assert len(reply.frames) == 1
    assert reply.final.flags == CODEC_JSON and not reply.final.is_stream
    assert reply.status == 200
    assert reply.headers == {"Content-Type": ["text/plain"], "Content-Length": ["22"]}
    assert reply.body == b"Hello from Greenrunner"


def test_stream_route(hello: WorkerProcess) -> None:
    reply = hello.request(context(path="/stream"))
    assert [f.is_stream for f in reply.frames] == [True] * 5 + [False]
    assert reply.chunks == [f"chunk {i}\n".encode() for i in range(5)] + [b""]
    assert all(json.loads(f.split()[0])["status"] == 200 for f in reply.frames)


def test_exception_gives_500_and_worker_survives(hello: WorkerProcess) -> None:
    reply = hello.request(context(path="/boom"))
    assert reply.status == 500 and reply.body == b"Internal Server Error"
    assert reply.headers == {"Content-Type": ["text/plain; charset=utf-8"]}
    assert wait_for(lambda: "Traceback" in hello.stderr())
    log = hello.stderr()
    assert "wsgi: error in the application for GET /boom: RuntimeError: boom from" in log
    assert 'raise RuntimeError("boom from examples.hello")' in log
    assert hello.request(context(path="/")).body == b"Hello from Greenrunner"


def test_write_callable(hello: WorkerProcess) -> None:
    reply = hello.request(context(path="/write"))
    assert (reply.status, reply.body) == (201, b"written and returned")


def test_environ(hello: WorkerProcess) -> None:
    ctx_bytes, body, _ = server_context(
        "POST",
        "/env?x=%20y",
        [
            ("User-Agent", "ua/1"),
            ("Cookie", "a=1"),
            ("Cookie", "b=2"),
            ("Content-Type", "application/json"),
            ("Content-Length", "2"),
        ],
        b"{}",
        Path("/tmp"),
    )
    env = json.loads(hello.request(ctx_bytes, body).body)
    assert env == {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/env",
        "QUERY_STRING": "x=%20y",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": "2",
        "HTTP_HOST": "localhost:8080",
        "HTTP_USER_AGENT": "ua/1",
        "HTTP_COOKIE": "a=1; b=2",
        "wsgi.url_scheme": "http",
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def test_urlencoded_form_roundtrip(hello: WorkerProcess, tmp_path: Path) -> None:
    raw = b"x=1&arr[]=a&arr[]=b&u[name]=z&u[d][e]=f+g&t=%C3%A9%26%3D"
    ctx, body, _ = server_context(
        "POST", "/form", [("Content-Type", "application/x-www-form-urlencoded")], raw, tmp_path
    )
    assert json.loads(ctx)["parsed"] is True and body.startswith(b'{"arr"')
    seen = json.loads(hello.request(ctx, body).body)
    assert seen["content_type"] == "application/x-www-form-urlencoded"
    assert seen["files"] == []
    # what the app parsed mounts into the very tree the server built
    grouped: dict[str, list[str]] = {}
    for k, v in seen["fields"]:
        grouped.setdefault(k, []).append(v)
    assert build_tree(grouped.items()) == build_tree(parse_urlencoded(raw))
    assert ["t", "\u00e9&="] in seen["fields"]


def test_multipart_form_roundtrip(hello: WorkerProcess, tmp_path: Path) -> None:
    b = "AaB03x"
    png = bytes(range(256)) * 3 + b"\r\n--AaB03\r\n"
    raw = (
        (
            f'--{b}\r\nContent-Disposition: form-data; name="title"\r\n\r\nh\u00e9\r\n'
            f'--{b}\r\nContent-Disposition: form-data; name="tags[]"\r\n\r\nx\r\n'
            f'--{b}\r\nContent-Disposition: form-data; name="tags[]"\r\n\r\ny\r\n'
            f'--{b}\r\nContent-Disposition: form-data; name="pic"; filename="p.png"\r\n'
            f"Content-Type: image/png\r\n\r\n"
        ).encode()
        + png
        + (
            f'\r\n--{b}\r\nContent-Disposition: form-data; name="docs[]"; filename="a.txt"\r\n'
            f"Content-Type: text/plain\r\n\r\nalpha\r\n"
            f'--{b}\r\nContent-Disposition: form-data; name="docs[]"; filename="b.txt"\r\n'
            f"Content-Type: text/plain\r\n\r\nbeta\r\n"
            f'--{b}\r\nContent-Disposition: form-data; name="none"; filename=""\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n\r\n"
            f"--{b}--\r\n"
        ).encode()
    )
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    ctx, body, prepared = server_context(
        "POST", "/form", [("Content-Type", f"multipart/form-data; boundary={b}")], raw, uploads
    )
    assert len(list(uploads.iterdir())) == 3
    try:
        seen = json.loads(hello.request(ctx, body).body)
    finally:
        prepared.cleanup()  # type: ignore[attr-defined]
    assert list(uploads.iterdir()) == []
    assert seen["content_type"].startswith("multipart/form-data; boundary=greenrunner")
    assert sorted(map(tuple, seen["fields"])) == [
        ("tags[]", "x"),
        ("tags[]", "y"),
        ("title", "h\u00e9"),
    ]
    files = {(f["field"], f["filename"]): f for f in seen["files"]}
    assert set(files) == {("pic", "p.png"), ("docs[]", "a.txt"), ("docs[]", "b.txt"), ("none", "")}
    assert base64.b64decode(files["pic", "p.png"]["content"]) == png
    assert files["pic", "p.png"]["type"] == "image/png"
    assert base64.b64decode(files["docs[]", "b.txt"]["content"]) == b"beta"
    assert files["none", ""]["content"] == ""


def test_long_stream_with_ping_pong(apps: WorkerProcess) -> None:
    reply = apps.request(context(path="/chunks", query="n=23"))
    assert reply.chunks == [f"c{i};".encode() for i in range(23)] + [b""]
    assert apps.pongs >= 4  # a PING on every 5th chunk over pipes
    assert wait_for(lambda: "closed /chunks" in apps.stderr())
    assert apps.request(context(path="/headers")).status == 200


def test_stream_cancelled_by_server(apps: WorkerProcess) -> None:
    reply = apps.request(context(path="/chunks", query="n=100000&delay=0.001"), stop_after=3)
    # the worker ends the stream with an empty frame (flags 0) and closes the iterable
    assert reply.final.flags == 0 and reply.final.split() == (b"", b"")
    assert len(reply.frames) < 100000
    assert wait_for(lambda: "closed /chunks" in apps.stderr())
    assert apps.request(context(path="/one-chunk")).body == b"only"


def test_single_chunk_and_empty_iterables_are_one_frame(apps: WorkerProcess) -> None:
    one = apps.request(context(path="/one-chunk"))
    assert len(one.frames) == 1 and one.body == b"only" and one.status == 200
    empty = apps.request(context(path="/empty"))
    assert len(empty.frames) == 1 and empty.status == 204 and empty.body == b""
    assert wait_for(lambda: apps.stderr().count("closed") >= 2)


def test_multiple_headers_and_exc_info(apps: WorkerProcess) -> None:
    h = apps.request(context(path="/headers"))
    assert h.headers == {"Set-Cookie": ["a=1", "b=2"], "X-One": ["1"]}
    r = apps.request(context(path="/exc-info"))
    assert (r.status, r.headers, r.body) == (503, {"X-After": ["1"]}, b"replaced")


def test_lazy_start_response(apps: WorkerProcess) -> None:
    r = apps.request(context(path="/lazy"))
    assert (r.status, r.headers, r.body) == (202, {"X-Lazy": ["yes"]}, b"late headers")


def test_failures(apps: WorkerProcess) -> None:
    mid = apps.request(context(path="/fail-mid-stream"))
    assert [f.is_stream for f in mid.frames] == [True, True, False]
    assert mid.status == 200 and mid.body == b"ok0;ok1;"
    first = apps.request(context(path="/fail-first-chunk"))
    assert (first.status, first.body, len(first.frames)) == (500, b"Internal Server Error", 1)
    none = apps.request(context(path="/no-start-response"))
    assert none.status == 500
    assert wait_for(lambda: "without calling start_response" in apps.stderr())
    log = apps.stderr()
    assert "while streaming the response of GET /fail-mid-stream: ValueError" in log
    assert log.count("closed /fail") == 2
    assert apps.request(context(path="/one-chunk")).body == b"only"


def test_percent_encoded_path(apps: WorkerProcess) -> None:
    r = apps.request(context(path="/unicode%2Dpath"))
    assert r.body == b"/unicode-path"


def test_bad_app_spec_exits_with_message(tmp_path: Path) -> None:
    proc = WorkerProcess(["-m", "relays.wsgi", "examples.hello:missing"], tmp_path / "e.log")
    try:
        assert proc.wait() == 1
        assert "has no attribute 'missing'" in proc.stderr()
    finally:
        proc.close()


def test_stop_command_exits(hello: WorkerProcess) -> None:
    hello.close()
    assert hello.proc.returncode == 0


# ---------------------------------------------------------------- in-process helpers


def test_load_app_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "factory_mod.py").write_text(
        "def make(greeting='hi', n=1):\n"
        "    def app(environ, start_response):\n"
        "        start_response('200 OK', [])\n"
        "        return [greeting.encode() * n]\n"
        "    return app\n"
        "application = make()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert callable(load_app("factory_mod"))
    app = load_app('factory_mod:make("yo", n=2)')
    assert app({}, lambda *a: None) == [b"yoyo"]
    with pytest.raises(ValueError, match="not a WSGI callable"):
        (tmp_path / "factory_mod2.py").write_text("x = 1\n")
        load_app("factory_mod2:x")


def test_encoders() -> None:
    assert encode_urlencoded({"a": {"b": "1"}, "l": ["x", "y z"]}) == (
        b"a%5Bb%5D=1&l%5B%5D=x&l%5B%5D=y+z"
    )
    body, ctype = encode_multipart(
        {"f": "v"},
        {"u": {"name": 'q"x.txt', "mime": "", "size": 0, "error": 8, "tmpName": ""}},
        boundary="BB",
    )
    assert ctype == "multipart/form-data; boundary=BB"
    assert body == b'--BB\r\nContent-Disposition: form-data; name="f"\r\n\r\nv\r\n--BB--\r\n'


def test_build_environ_headers() -> None:
    req = Request(
        method="GET",
        uri="https://example.org/a%20b?q=1",
        path="/a%20b",
        query="q=1",
        headers={
            "X_Spoof": ["1"],
            "X-Multi": ["a", "b"],
            "Content-Length": ["0"],
            "X-Name": ["\u00e9"],
        },
        cookies={},
        remote_addr="::1",
        protocol="HTTP/2.0",
        body=b"",
    )
    env = build_environ(req)
    assert env["PATH_INFO"] == "/a b" and env["wsgi.url_scheme"] == "https"
    assert env["SERVER_PORT"] == "443" and env["HTTP_X_MULTI"] == "a,b"
    assert "HTTP_X_SPOOF" not in env and env["CONTENT_LENGTH"] == "0"
    assert "HTTP_CONTENT_LENGTH" not in env
    assert env["HTTP_X_NAME"] == "\u00c3\u00a9"  # PEP 3333: UTF-8 bytes as latin-1 text
    assert env["greenrunner.request"] is req
    assert os.fspath(env["wsgi.input"].read()) == b""
