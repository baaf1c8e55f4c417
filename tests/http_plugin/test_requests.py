"""What reaches the worker: the request context, bodies by content type, uploads, limits.

Every check is made against what the worker itself decoded (tests/workers/http_app.py
echoes it back), so a wrong context, body or upload fails here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os

import pytest

from tests.support.http_client import body_of, raw_exchange, request
from tests.support.hub import call, wait_for
from tests.support.workers import RELAYS, worker_cmd

MIB = 1024 * 1024


@pytest.mark.parametrize("relay", RELAYS)
def test_get_echo_query_headers_cookies(servers, relay):
    s = servers(relay=relay)
    path = "/echo?a=1&b=two%20words&a=3&empty="
    headers = [
        ("X-Multi", "one"),
        ("x-multi", "two"),
        ("x-lower-case", "v"),
        ("Cookie", "a=1; b=hello%20world"),
        ("Cookie", 'c="quoted"; d=x+y'),
    ]
    r = call(request, s.addr, "GET", path, None, headers)
    assert r.status == 200, r
    got = r.json()
    host, port = s.addr
    assert got["remoteAddr"] == "127.0.0.1"
    assert got["method"] == "GET"
    assert got["protocol"] == "HTTP/1.1"
    assert got["uri"] == f"http://{host}:{port}{path}"
    assert got["rawQuery"] == "a=1&b=two%20words&a=3&empty="
    hdrs = got["headers"]
    assert hdrs["X-Multi"] == ["one", "two"]  # both spellings, one canonical name, in order
    assert hdrs["X-Lower-Case"] == ["v"]
    assert hdrs["Cookie"] == ["a=1; b=hello%20world", 'c="quoted"; d=x+y']
    assert "Host" not in hdrs  # only in the uri, as Go's server does
    assert all(k == k.title() for k in hdrs), hdrs  # canonical names only
    assert got["cookies"] == {"a": "1", "b": "hello world", "c": "quoted", "d": "x y"}
    assert got["parsed"] is None
    assert got["body_b64"] == ""


def test_post_urlencoded_is_parsed_into_a_tree(servers):
    s = servers()
    body = b"x=1&arr[]=a&arr[]=b&u[name]=z&x=2&sp=a+b%21"
    r = call(
        request,
        s.addr,
        "POST",
        "/echo",
        body,
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status == 200, r
    got = r.json()
    assert got["parsed"] == {"arr": ["a", "b"], "u": {"name": "z"}, "x": "2", "sp": "a b!"}
    assert got["headers"]["Content-Type"] == ["application/x-www-form-urlencoded"]


def test_post_json_body_is_sent_raw(servers):
    s = servers()
    body = b'{"k": [1, 2, 3], "s": "x=1&y=2", "u": "\xc3\xa9"}'
    r = call(request, s.addr, "POST", "/echo", body, {"Content-Type": "application/json"})
    assert r.status == 200, r
    got = r.json()
    assert got["parsed"] is None
    assert base64.b64decode(got["body_b64"]) == body


def _multipart(boundary: str, parts: list[tuple[str, str | None, str | None, bytes]]) -> bytes:
    out = b""
    for name, filename, mime, content in parts:
        disp = f'form-data; name="{name}"'
        if filename is not None:
            disp += f'; filename="{filename}"'
        out += f"--{boundary}\r\nContent-Disposition: {disp}\r\n".encode()
        if mime:
            out += f"Content-Type: {mime}\r\n".encode()
        out += b"\r\n" + content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def test_multipart_two_files_checked_in_the_worker_then_deleted(servers):
    s = servers()
    first = os.urandom(300 * 1024)
    second = ("line of text\n" * 500).encode()
    boundary = "gr-boundary-7d1f"
    body = _multipart(
        boundary,
        [
            ("title", None, None, b"hello form"),
            ("docs[]", "blob.bin", "application/octet-stream", first),
            ("docs[]", "notes.txt", "text/plain", second),
        ],
    )
    r = call(
        request,
        s.addr,
        "POST",
        "/upload",
        body,
        {"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status == 200, r
    got = r.json()
    assert got["parsed"] == {"title": "hello form"}
    files = got["files"]
    assert [f["name"] for f in files] == ["blob.bin", "notes.txt"]
    uploads = os.path.realpath(s.uploads)
    for f, content, mime in zip(
        files, (first, second), ("application/octet-stream", "text/plain"), strict=True
    ):
        assert "read_error" not in f, f
        assert f["mime"] == mime
        assert f["error"] == 0
        assert f["size"] == f["read_size"] == len(content)
        assert f["sha256"] == hashlib.sha256(content).hexdigest()
        assert os.path.realpath(f["dir"]) == uploads
    # The server deletes the temp files once the response is written.
    wait_for(lambda: not os.listdir(s.uploads), timeout=3, what="uploads dir to be empty")


def test_ten_mib_body_round_trip(servers):
    s = servers()
    body = os.urandom(10 * MIB)
    r = call(request, s.addr, "POST", "/raw", body, {"Content-Type": "application/octet-stream"})
    assert r.status == 200
    assert len(r.body) == len(body)
    assert hashlib.sha256(r.body).digest() == hashlib.sha256(body).digest()


def test_chunked_request_body(servers):
    s = servers()
    body = os.urandom(3 * MIB + 12345)
    r = call(request, s.addr, "POST", "/digest", body, {"Content-Type": "application/x-bin"}, True)
    assert r.status == 200, r
    got = r.json()
    assert got["size"] == len(body)
    assert got["sha256"] == hashlib.sha256(body).hexdigest()
    assert "Transfer-Encoding" not in got["headers"]  # Go's server removes it


def _chunked(body: bytes, piece: int = 65536) -> bytes:
    out = b""
    for i in range(0, len(body), piece):
        chunk = body[i : i + piece]
        out += b"%x\r\n%b\r\n" % (len(chunk), chunk)
    return out + b"0\r\n\r\n"


def test_max_request_size_413_never_reaches_a_worker(servers):
    s = servers(pool={"num_workers": 1}, http={"max_request_size": 1})
    too_big = b"x" * (MIB + 1)
    head = b"POST /digest HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-bin\r\n"
    by_length = call(
        raw_exchange, s.addr, head + b"Content-Length: %d\r\n\r\n" % len(too_big) + too_big
    )
    assert by_length.startswith(b"HTTP/1.1 413 "), by_length[:200]
    by_chunks = call(
        raw_exchange, s.addr, head + b"Transfer-Encoding: chunked\r\n\r\n" + _chunked(too_big)
    )
    assert by_chunks.startswith(b"HTTP/1.1 413 "), by_chunks[:200]
    assert s.execs() == 0
    # Exactly the limit is allowed.
    at_limit = os.urandom(MIB)
    r = call(request, s.addr, "POST", "/digest", at_limit, {"Content-Type": "application/x-bin"})
    assert r.status == 200
    assert r.json()["sha256"] == hashlib.sha256(at_limit).hexdigest()
    assert s.execs() == 1


MALFORMED = [
    b"GET /echo HTTP/1.1\r\nHost: t\r\nthis is not a header\r\n\r\n",
    b"GET /echo HTTP/1.1\r\n\r\n",  # HTTP/1.1 without Host
    b"GET /echo HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",  # a TLS ClientHello on the plain port
]


def test_malformed_requests_get_400_and_never_reach_a_worker(servers):
    s = servers(pool={"num_workers": 1})
    for data in MALFORMED:
        out = call(raw_exchange, s.addr, data)
        assert out.startswith(b"HTTP/1.1 400 "), (data, out[:200])
    assert s.execs() == 0
    r = call(request, s.addr, "GET", "/echo")
    assert r.status == 200
    assert s.execs() == 1


def test_upload_temp_files_are_deleted_when_the_worker_fails(servers):
    """The cleanup runs on the error path too (a worker error frame)."""
    s = servers()
    boundary = "b0undary"
    body = _multipart(boundary, [("f", "a.txt", "text/plain", b"content")])
    r = call(
        request,
        s.addr,
        "POST",
        "/error",
        body,
        {"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status == 500
    wait_for(lambda: not os.listdir(s.uploads), timeout=3, what="uploads dir to be empty")


def test_non_ascii_request_header_reaches_the_worker_as_utf8_text(servers):
    """RoadRunner hands the header bytes to Go's JSON encoder: UTF-8 ``é`` stays ``é``
    (and invalid UTF-8 becomes U+FFFD); it must not be re-read as latin-1 (``Ã©``)."""
    s = servers(worker_cmd("http_edge_cases"))
    raw = call(
        raw_exchange,
        s.addr,
        b"GET /echo HTTP/1.1\r\nHost: t\r\nX-Name: caf\xc3\xa9\r\nX-Bad: \xff\r\n"
        b"Connection: close\r\n\r\n",
    )
    seen = json.loads(body_of(raw))
    assert seen["headers"]["X-Name"] == ["café"]
    assert seen["headers"]["X-Bad"] == ["\ufffd"]


def test_request_read_timeout_is_roadrunners(servers):
    """RoadRunner's http server gives a request 5 minutes to arrive (ReadTimeout); with 60 s a
    100 MiB upload over a 1 MiB/s link was answered 408 here and accepted by RoadRunner.  The
    body is read before a worker is taken, so a slow upload costs no worker."""
    s = servers()
    assert s.plugin.server.read_timeout == 300.0
