"""``static``: files served without a worker, misses handed to the worker, no way out of dir."""

from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path

import gevent
import pytest

from actors.plugins.http.middleware.static_cache import TTL
from tests.support.http_client import TIMEOUT, RawReader, request
from tests.support.http_servers import Server
from tests.support.hub import call

from .conftest import Start


@pytest.fixture
def public(short_tmp: Path) -> Path:
    """A served dir (``public``) next to a secret outside it, with symlinks in and out."""
    root = short_tmp / "public"
    (root / "sub").mkdir(parents=True)
    (root / "dir.d").mkdir()
    (root / "hello.txt").write_text("hello static\n")
    (root / "sub" / "page.html").write_text("<p>sub</p>\n")
    (root / "script.php").write_text("<?php echo 'source';")
    (root / "noext").write_text("no extension")
    (root / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    (short_tmp / "secret.txt").write_text("outside the dir\n")
    (root / "out.txt").symlink_to(short_tmp / "secret.txt")
    (root / "in.txt").symlink_to(root / "hello.txt")
    return root


def _static(mw: Start, public: Path, kind: str = "wsgi", **static: object) -> Server:
    return mw(["static"], kind, static={"dir": str(public), **static})


def _raw_get(addr: tuple[str, int], target: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """A GET with ``target`` sent byte for byte (http.client would not let '..' through)."""
    with socket.create_connection(addr, timeout=TIMEOUT) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        reader = RawReader(sock)
        status, headers = reader.head()
        length = int(dict((k.lower(), v) for k, v in headers).get("content-length", "0"))
        return status, headers, reader.exactly(length)


def test_a_file_is_served_without_a_worker(mw: Start, public: Path) -> None:
    server = _static(mw, public)
    r = call(request, server.addr, "GET", "/hello.txt")
    assert r.status == 200, r
    assert r.body == b"hello static\n"
    assert r.header("Content-Type") == "text/plain; charset=utf-8"
    assert r.header("Accept-Ranges") == "bytes"
    assert r.header("Last-Modified") is not None
    assert r.header("ETag") is None  # calculate_etag is off by default
    r = call(request, server.addr, "GET", "/sub/page.html")
    assert (r.status, r.body) == (200, b"<p>sub</p>\n")
    assert r.header("Content-Type") == "text/html; charset=utf-8"
    assert server.execs() == 0, "a static file must not reach a worker"


def test_a_large_file_is_streamed_whole(mw: Start, public: Path) -> None:
    server = _static(mw, public)
    r = call(request, server.addr, "GET", "/big.bin")
    assert r.status == 200
    assert r.header("Content-Length") == str(len(r.body))
    assert (
        hashlib.sha256(r.body).digest()
        == hashlib.sha256((public / "big.bin").read_bytes()).digest()
    )
    head = call(request, server.addr, "HEAD", "/big.bin")
    assert head.status == 200 and head.body == b""
    assert head.header("Content-Length") == str(3 * 1024 * 1024 + 17)


@pytest.mark.parametrize(
    "path",
    ["/missing.txt", "/dir.d", "/sub", "/noext", "/script.php", "/"],
    ids=["miss", "directory-with-dot", "directory", "no-extension", "forbidden", "root"],
)
def test_what_is_not_a_served_file_goes_to_the_worker(
    mw: Start, public: Path, kind: str, path: str
) -> None:
    server = _static(mw, public, kind, forbid=[".php"])
    r = call(request, server.addr, "GET", path)
    assert (r.status, r.body) == (404, f"from worker {path}".encode()), r
    assert server.execs() == 1


def test_allow_serves_only_the_listed_extensions(mw: Start, public: Path) -> None:
    server = _static(mw, public, allow=["HTML"])
    assert call(request, server.addr, "GET", "/sub/page.html").status == 200
    r = call(request, server.addr, "GET", "/hello.txt")
    assert (r.status, r.body) == (404, b"from worker /hello.txt")


@pytest.mark.parametrize(
    "target",
    [
        "/../secret.txt",
        "/sub/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/sub%2f..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/%2E%2E%5C%2E%2E%5Csecret.txt",
    ],
)
def test_path_traversal_is_forbidden(mw: Start, public: Path, target: str) -> None:
    server = _static(mw, public)
    status, _, body = call(_raw_get, server.addr, target)
    assert status == 403, (target, body)
    assert b"outside" not in body
    assert server.execs() == 0


def test_a_symlink_out_of_dir_is_forbidden_one_inside_is_served(mw: Start, public: Path) -> None:
    server = _static(mw, public)
    status, _, body = call(_raw_get, server.addr, "/out.txt")
    assert status == 403 and b"outside" not in body
    status, _, body = call(_raw_get, server.addr, "/in.txt")
    assert (status, body) == (200, b"hello static\n")


def test_an_encoded_slash_inside_dir_is_a_slash(mw: Start, public: Path) -> None:
    server = _static(mw, public)
    status, _, body = call(_raw_get, server.addr, "/sub%2Fpage.html")
    assert (status, body) == (200, b"<p>sub</p>\n")


def test_strong_etag_and_if_none_match_give_304(mw: Start, public: Path) -> None:
    server = _static(mw, public, calculate_etag=True)
    r = call(request, server.addr, "GET", "/hello.txt")
    etag = r.header("ETag")
    assert etag is not None and etag.startswith('"13-'), etag
    r2 = call(request, server.addr, "GET", "/hello.txt", None, {"If-None-Match": etag})
    assert r2.status == 304 and r2.body == b""
    assert r2.header("ETag") == etag
    assert r2.header("Content-Type") is None and r2.header("Last-Modified") is None
    r3 = call(request, server.addr, "GET", "/hello.txt", None, {"If-None-Match": '"other"'})
    assert r3.status == 200
    (public / "hello.txt").write_text("changed content\n")
    gevent.sleep(TTL + 0.1)  # a small file just served is answered from memory for TTL
    r4 = call(request, server.addr, "GET", "/hello.txt", None, {"If-None-Match": etag})
    assert (r4.status, r4.body) == (200, b"changed content\n")
    assert r4.header("ETag") != etag
    r5 = call(request, server.addr, "PUT", "/hello.txt", b"", {"If-None-Match": "*"})
    assert r5.status == 412


def test_weak_etag_comes_from_size_and_mtime(mw: Start, public: Path) -> None:
    server = _static(mw, public, calculate_etag=True, weak=True)
    st = (public / "hello.txt").stat()
    r = call(request, server.addr, "GET", "/hello.txt")
    seconds, nanos = divmod(st.st_mtime_ns, 1_000_000_000)
    assert r.header("ETag") == f'W/"{st.st_size}-{seconds}.{nanos}"'
    r2 = call(request, server.addr, "GET", "/hello.txt", None, {"If-None-Match": r.header("ETag")})
    assert r2.status == 304


def test_if_modified_since_gives_304(mw: Start, public: Path) -> None:
    server = _static(mw, public)
    r = call(request, server.addr, "GET", "/hello.txt")
    modified = r.header("Last-Modified")
    assert modified is not None
    r2 = call(request, server.addr, "GET", "/hello.txt", None, {"If-Modified-Since": modified})
    assert r2.status == 304 and r2.header("Last-Modified") == modified
    old = "Mon, 01 Jan 2001 00:00:00 GMT"
    r3 = call(request, server.addr, "GET", "/hello.txt", None, {"If-Modified-Since": old})
    assert r3.status == 200


def test_ranges(mw: Start, public: Path) -> None:
    server = _static(mw, public)
    data = (public / "big.bin").read_bytes()
    size = len(data)
    r = call(request, server.addr, "GET", "/hello.txt", None, {"Range": "bytes=0-4"})
    assert (r.status, r.body) == (206, b"hello")
    assert r.header("Content-Range") == "bytes 0-4/13"
    r = call(request, server.addr, "GET", "/hello.txt", None, {"Range": "bytes=-7"})
    assert (r.status, r.body) == (206, b"static\n")
    r = call(request, server.addr, "GET", "/big.bin", None, {"Range": "bytes=1000000-"})
    assert r.status == 206 and r.body == data[1000000:]
    assert r.header("Content-Range") == f"bytes 1000000-{size - 1}/{size}"
    r = call(request, server.addr, "GET", "/hello.txt", None, {"Range": "bytes=100-200"})
    assert r.status == 416 and r.header("Content-Range") == "bytes */13"
    r = call(request, server.addr, "GET", "/hello.txt", None, {"Range": "lines=1-2"})
    assert r.status == 416
    r = call(request, server.addr, "GET", "/hello.txt", None, {"Range": "bytes=0-1,4-5"})
    assert (r.status, r.body) == (200, b"hello static\n")  # several ranges: the whole file
    stale = {"Range": "bytes=0-4", "If-Range": "Mon, 01 Jan 2001 00:00:00 GMT"}
    r = call(request, server.addr, "GET", "/hello.txt", None, stale)
    assert r.status == 200 and r.body == b"hello static\n"


def test_response_headers_are_added_to_served_files_only(mw: Start, public: Path) -> None:
    server = _static(mw, public, response={"X-Served-By": "static", "Cache-Control": "max-age=60"})
    r = call(request, server.addr, "GET", "/hello.txt")
    assert r.header("X-Served-By") == "static" and r.header("Cache-Control") == "max-age=60"
    r = call(request, server.addr, "GET", "/missing.txt")
    assert r.status == 404 and r.header("X-Served-By") is None
