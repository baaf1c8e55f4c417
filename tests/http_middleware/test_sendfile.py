"""``sendfile``: ``X-Sendfile`` answers replaced by the file, streamed in bounded memory."""

from __future__ import annotations

import hashlib
import http.client
import os
import threading
import urllib.parse
from pathlib import Path

from tests.support.http_client import TIMEOUT, request
from tests.support.hub import call

from .conftest import Start

MIB = 1024 * 1024


def _path(path: Path | str, **more: str) -> str:
    return "/sendfile?" + urllib.parse.urlencode({"path": str(path), **more})


def test_the_file_replaces_the_answer_and_the_header_is_gone(
    mw: Start, kind: str, short_tmp: Path
) -> None:
    data = os.urandom(300_000)
    (short_tmp / "report.bin").write_bytes(data)
    server = mw(["sendfile"], kind)
    r = call(request, server.addr, "GET", _path(short_tmp / "report.bin"))
    assert r.status == 200, r
    assert r.body == data
    assert r.header("X-Sendfile") is None
    assert r.header("Content-Type") == "application/octet-stream"
    assert r.header("Content-Length") == str(len(data))


def test_the_worker_status_and_content_type_are_kept(mw: Start, short_tmp: Path) -> None:
    (short_tmp / "a.csv").write_text("a,b\n1,2\n")
    server = mw(["sendfile"])
    target = _path(short_tmp / "a.csv", type="text/csv", status="201 Created")
    r = call(request, server.addr, "GET", target)
    assert (r.status, r.body) == (201, b"a,b\n1,2\n")
    assert r.header("Content-Type") == "text/csv"


def test_missing_files_and_dot_dot_paths(mw: Start, kind: str, short_tmp: Path) -> None:
    server = mw(["sendfile"], kind)
    r = call(request, server.addr, "GET", _path(short_tmp / "nope.bin"))
    assert (r.status, r.body) == (404, b"not found\n")
    r = call(request, server.addr, "GET", _path(f"{short_tmp}/../{short_tmp.name}/x"))
    assert r.status == 403 and b"never sent" not in r.body


def test_without_the_middleware_the_header_goes_to_the_client(mw: Start, short_tmp: Path) -> None:
    server = mw([])
    r = call(request, server.addr, "GET", _path(short_tmp / "x.bin"))
    assert r.header("X-Sendfile") == str(short_tmp / "x.bin")
    assert r.body == b"worker body, never sent"


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _download(addr: tuple[str, int], target: str) -> tuple[int, int, str]:
    """GET ``target`` reading 64 KiB at a time: ``(status, bytes, sha256)``."""
    conn = http.client.HTTPConnection(*addr, timeout=TIMEOUT)
    try:
        conn.request("GET", target)
        resp = conn.getresponse()
        digest = hashlib.sha256()
        size = 0
        while chunk := resp.read(65536):
            digest.update(chunk)
            size += len(chunk)
        return resp.status, size, digest.hexdigest()
    finally:
        conn.close()


def test_a_100_mib_file_is_streamed_in_bounded_memory(mw: Start, short_tmp: Path) -> None:
    block = os.urandom(MIB)
    big = short_tmp / "big.bin"
    expected = hashlib.sha256()
    with big.open("wb") as f:
        for i in range(100):
            piece = block[i:] + block[:i]  # no two MiB alike
            f.write(piece)
            expected.update(piece)
    server = mw(["sendfile"])
    call(request, server.addr, "GET", "/text?n=10")  # warm up: worker and pools in place
    baseline = _rss()
    peak = [baseline]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            peak[0] = max(peak[0], _rss())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        status, size, digest = call(_download, server.addr, _path(big))
    finally:
        done.set()
        sampler.join()
    assert (status, size) == (200, 100 * MIB)
    assert digest == expected.hexdigest()
    growth = peak[0] - baseline
    assert growth < 30 * MIB, f"server RSS grew by {growth / MIB:.1f} MiB sending 100 MiB"
