"""``Writer.send_file``: ``static`` and ``X-Sendfile`` bodies go out with ``sendfile(2)`` over
plain HTTP/1.1 and arrive byte-identical; TLS, h2c and gzip take the chunked fallback.

Which path ran is read from :data:`~actors.plugins.http.server.sendfile.STATS` (the server runs
in this process): a response that went zero-copy adds its bytes there, a fallback adds none.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.plugins.http.server.listener import HttpServer
from actors.plugins.http.server.request import HttpRequest
from actors.plugins.http.server.sendfile import STATS, _cached
from actors.plugins.http.server.writer import Writer
from tests.support.http_client import TIMEOUT, raw_exchange, request
from tests.support.hub import call, spawn_call, wait_for
from tests.support.tls import TlsServers, client_context, https_get, tls_address

from .conftest import Start, command
from .test_sendfile import _download, _rss

MIB = 1024 * 1024
#: Above the small-file cache size (256 KiB): streamed, not read whole.
LARGE = 5 * MIB + 123


@pytest.fixture
def public(short_tmp: Path) -> Path:
    """A served dir with one large random file and one large compressible text file."""
    root = short_tmp / "public"
    root.mkdir()
    (root / "large.bin").write_bytes(os.urandom(LARGE))
    (root / "large.txt").write_bytes(b"zero copy is not for compressed bodies\n" * 20000)
    (root / "small.txt").write_text("small\n")
    return root


def test_a_large_static_file_goes_zero_copy_and_arrives_whole(mw: Start, public: Path) -> None:
    server = mw(["static"], static={"dir": str(public)})
    before, responses = STATS.bytes, STATS.responses
    r = call(request, server.addr, "GET", "/large.bin")
    assert r.status == 200, r
    assert r.body == (public / "large.bin").read_bytes()
    assert r.header("Content-Length") == str(LARGE)
    assert STATS.bytes - before == LARGE, "the body did not go through sendfile(2)"
    assert STATS.responses - responses == 1
    # HEAD sends no body, zero-copy or not.
    before = STATS.bytes
    r = call(request, server.addr, "HEAD", "/large.bin")
    assert (r.status, r.body, r.header("Content-Length")) == (200, b"", str(LARGE))
    assert STATS.bytes == before


def test_a_file_not_in_the_page_cache_is_sent_from_the_thread_pool(
    mw: Start, short_tmp: Path
) -> None:
    """sendfile(2) on a cold file would wait for the disk on the hub: those calls go to threads."""
    root = short_tmp / "public"
    root.mkdir()
    data = os.urandom(4 * MIB)
    with (root / "cold.bin").open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())  # clean pages can be dropped, dirty ones cannot
        for _ in range(20):  # a loaded kernel may keep the pages a while: ask until it drops them
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
            if not _cached(f.fileno(), 0, len(data)):
                break
            time.sleep(0.05)
        else:
            pytest.skip("the kernel kept the file in the page cache: no cold file to send")
    server = mw(["static"], static={"dir": str(root)})
    before, threaded, responses = STATS.bytes, STATS.threaded, STATS.responses
    r = call(request, server.addr, "GET", "/cold.bin")
    assert r.body == data
    # The client can hold every byte before the server's greenlet, resumed by the thread pool
    # after the last sendfile(2), has counted them: wait for the count rather than race it.
    wait_for(
        lambda: STATS.bytes - before == len(data),
        5.0,
        lambda: (
            f"zero-copy bytes {STATS.bytes - before}, responses {STATS.responses - responses}, "
            f"threaded calls {STATS.threaded - threaded}, headers {r.headers}"
        ),
    )
    assert STATS.threaded > threaded, "a cold file was sent from the hub's thread"
    # Now it is cached: the same file goes out from the hub.
    threaded = STATS.threaded
    r = call(request, server.addr, "GET", "/cold.bin")
    assert r.body == data
    assert STATS.threaded == threaded, "a cached file took the thread pool"


def test_ranges_go_zero_copy(mw: Start, public: Path) -> None:
    data = (public / "large.bin").read_bytes()
    server = mw(["static"], static={"dir": str(public)})
    for spec, start, end in [
        ("bytes=1000-2000999", 1000, 2001000),
        ("bytes=-4097", LARGE - 4097, LARGE),
        (f"bytes={LARGE - 10}-", LARGE - 10, LARGE),
    ]:
        before = STATS.bytes
        r = call(request, server.addr, "GET", "/large.bin", None, {"Range": spec})
        assert r.status == 206, (spec, r)
        assert r.body == data[start:end], spec
        assert r.header("Content-Range") == f"bytes {start}-{end - 1}/{LARGE}"
        assert STATS.bytes - before == end - start, spec


def test_header_only_wrappers_keep_zero_copy(mw: Start, public: Path) -> None:
    """``headers`` wraps the writer but leaves the body alone: sendfile(2) still runs."""
    server = mw(
        ["static", "headers"],
        static={"dir": str(public)},
        headers={"response": {"X-Served-By": "greenrunner"}},
    )
    before = STATS.bytes
    r = call(request, server.addr, "GET", "/large.bin")
    assert r.body == (public / "large.bin").read_bytes()
    assert r.header("X-Served-By") == "greenrunner"
    assert STATS.bytes - before == LARGE


def test_gzip_outside_static_compresses_through_the_fallback(mw: Start, public: Path) -> None:
    server = mw(["static", "gzip"], static={"dir": str(public)})
    before = STATS.responses
    r = call(request, server.addr, "GET", "/large.txt", None, {"Accept-Encoding": "gzip"})
    assert r.status == 200, r
    assert r.header("Content-Encoding") == "gzip"
    assert gzip.decompress(r.body) == (public / "large.txt").read_bytes()
    assert STATS.responses == before, "gzip's writer must read the bytes, not sendfile them"


def _path(path: Path) -> str:
    return "/sendfile?" + urllib.parse.urlencode({"path": str(path)})


def test_a_100_mib_x_sendfile_goes_zero_copy(mw: Start, short_tmp: Path) -> None:
    block = os.urandom(MIB)
    big = short_tmp / "big.bin"
    expected = hashlib.sha256()
    with big.open("wb") as f:
        for i in range(100):
            piece = block[i:] + block[:i]
            f.write(piece)
            expected.update(piece)
    server = mw(["sendfile"])
    call(request, server.addr, "GET", "/text?n=10")  # warm up
    baseline, before = _rss(), STATS.bytes
    cpu = time.process_time()
    status, size, digest = call(_download, server.addr, _path(big))
    cpu = time.process_time() - cpu
    assert (status, size, digest) == (200, 100 * MIB, expected.hexdigest())
    assert STATS.bytes - before == 100 * MIB, "X-Sendfile did not go through sendfile(2)"
    growth = _rss() - baseline
    assert growth < 30 * MIB, f"RSS grew by {growth / MIB:.1f} MiB sending 100 MiB"
    # The test's own client (hashing 100 MiB) shares this process's CPU clock; the server's
    # part is a few hundred sendfile calls, so the whole stays far below a copy through Python.
    assert cpu < 5.0, f"{cpu:.2f}s of CPU to send and hash 100 MiB"


def _stall(addr: tuple[str, int], target: str, pause: float) -> int:
    """GET ``target`` with a tiny receive buffer, read nothing for ``pause`` seconds, then read
    until the server closes: how many body bytes arrived in all."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(TIMEOUT)
        sock.connect(addr)
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        time.sleep(pause)
        data = b""
        try:
            while chunk := sock.recv(1 << 20):
                data += chunk
        except ConnectionResetError:
            pass
        return len(data.partition(b"\r\n\r\n")[2])


def test_a_client_that_stops_reading_is_dropped_after_write_timeout(
    mw: Start, short_tmp: Path
) -> None:
    root = short_tmp / "public"
    root.mkdir()
    size = 64 * MIB
    with (root / "huge.bin").open("wb") as f:
        f.truncate(size)  # sparse: 64 MiB of zeros without writing them
    (root / "small.txt").write_text("still served\n")
    server = mw(["static"], static={"dir": str(root)})
    server.plugin.server.write_timeout = 1.0
    stalled = spawn_call(_stall, server.addr, "/huge.bin", 3.0)
    time.sleep(0.3)
    # Meanwhile the hub serves others: the stalled send waits in its own greenlet.
    started = time.monotonic()
    r = call(request, server.addr, "GET", "/small.txt")
    assert (r.status, r.body) == (200, b"still served\n")
    assert time.monotonic() - started < 0.9, "a stalled sendfile blocked another request"
    received = stalled.get(timeout=TIMEOUT)
    assert received < size, "the client that stopped reading was not dropped"


def test_tls_and_h2c_take_the_fallback_and_arrive_whole(
    tls_servers: TlsServers, public: Path, short_tmp: Path
) -> None:
    sent = short_tmp / "sent.bin"
    sent.write_bytes(os.urandom(3 * MIB + 5))
    server = tls_servers(
        command("wsgi"),
        http={
            "address": "127.0.0.1:0",
            "ssl": tls_servers.ssl(),
            "http2": {"h2c": True},
            "middleware": ["static", "sendfile"],
            "static": {"dir": str(public)},
        },
        pool={"num_workers": 1},
    )
    ctx = client_context(tls_servers.certs)
    addr = tls_address(server)
    large = (public / "large.bin").read_bytes()
    before = STATS.responses
    status, headers, body = call(https_get, addr, "/large.bin", ctx)
    assert (status, body, headers["content-length"]) == (200, large, str(LARGE))
    status, headers, body = call(https_get, addr, "/large.bin", ctx, b"Range: bytes=7-70006\r\n")
    assert (status, body) == (206, large[7:70007])
    assert headers["content-range"] == f"bytes 7-70006/{LARGE}"
    status, headers, body = call(https_get, addr, _path(sent), ctx)
    assert (status, body) == (200, sent.read_bytes())
    assert "x-sendfile" not in headers
    for target, expected in [("/large.bin", large), (_path(sent), sent.read_bytes())]:
        out = short_tmp / "h2c.out"
        url = f"http://127.0.0.1:{server.addr[1]}{target}"
        done = call(
            subprocess.run,
            ["curl", "-sS", "--max-time", "20", "--http2-prior-knowledge", "-o", str(out), url],
        )
        assert done.returncode == 0, done
        assert out.read_bytes() == expected, target
    assert STATS.responses == before, "TLS and HTTP/2 must read the file, not sendfile it"
    # The same server's plain HTTP/1.1 listener does go zero-copy.
    r = call(request, server.addr, "GET", "/large.bin")
    assert r.body == large
    assert STATS.responses == before + 1


# -- ResponseWriter.send_file framing, on a bare HttpServer -------------------------------


@pytest.fixture
def file_server(short_tmp: Path) -> Iterator[tuple[tuple[str, int], bytes, list[bool]]]:
    """An HttpServer whose handler sends ``data.bin`` (300 KiB) with ``send_file``, framed by
    the query: ``length=N`` gives a Content-Length, ``count=N`` asks for N bytes, ``around``
    writes a chunk before and after the file; what each ``send_file`` returned is recorded."""
    data = os.urandom(300 * 1024)
    path = short_tmp / "data.bin"
    path.write_bytes(data)
    returned: list[bool] = []

    def handler(req: HttpRequest, resp: Writer) -> None:
        query = dict(urllib.parse.parse_qsl(req.query.decode()))
        headers = [("Content-Length", query["length"])] if "length" in query else []
        resp.start(200, headers)
        fd = os.open(path, os.O_RDONLY)
        try:
            if "around" in query:
                resp.write(b"<")
            complete = resp.send_file(fd, 5, int(query.get("count", len(data) - 5)))
            if "around" in query:
                resp.write(b">")
        finally:
            os.close(fd)
        returned.append(complete)
        if complete:
            resp.finish(b"")
        else:
            resp.abort()

    server = HttpServer("127.0.0.1", 0, handler, max_request_size=1 << 16)
    server.start()
    try:
        yield server.address, data, returned
    finally:
        server.stop(1.0)


def _exchange(addr: tuple[str, int], target: str, version: str = "HTTP/1.1") -> bytes:
    return call(
        raw_exchange,
        addr,
        f"GET {target} {version}\r\nHost: t\r\nConnection: close\r\n\r\n".encode(),
    )


def _dechunk(body: bytes) -> bytes:
    out = b""
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            assert body == b"\r\n", body[:50]
            return out
        out += body[:size]
        assert body[size : size + 2] == b"\r\n"
        body = body[size + 2 :]


def test_send_file_is_framed_like_write(
    file_server: tuple[tuple[str, int], bytes, list[bool]],
) -> None:
    addr, data, returned = file_server
    before = STATS.bytes
    head, _, body = _exchange(addr, "/?around=1").partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower(), head
    assert _dechunk(body) == b"<" + data[5:] + b">"
    head, _, body = _exchange(addr, "/?count=1000", "HTTP/1.0").partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and body == data[5:1005]  # close-delimited
    head, _, body = _exchange(addr, "/?length=100&count=1000").partition(b"\r\n\r\n")
    assert b"content-length: 100" in head.lower() and body == data[5:105]
    assert STATS.bytes - before == len(data) - 5 + 1000 + 100
    assert returned == [True, True, True]


def test_a_file_shorter_than_announced_is_cut_not_padded(
    file_server: tuple[tuple[str, int], bytes, list[bool]],
) -> None:
    addr, data, returned = file_server
    announced = len(data) + 4096
    raw = _exchange(addr, f"/?length={announced}&count={announced}")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert f"content-length: {announced}".encode() in head.lower()
    assert body == data[5:], "the server must close after the file's real end"
    assert returned == [False], "send_file must report the short file (the handler aborts)"
