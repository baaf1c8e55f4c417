"""What the client gets: streamed responses, stream cancellation, 1xx, odd statuses."""

from __future__ import annotations

import socket
from urllib.parse import quote

import pytest

from tests.support.http_client import TIMEOUT, RawReader, get, raw_exchange
from tests.support.hub import call, wait_for
from tests.support.workers import RELAYS


def _stream_raw(addr: tuple[str, int], n: int) -> tuple[int, list[tuple[str, str]], list[bytes]]:
    with socket.create_connection(addr, timeout=TIMEOUT) as sock:
        sock.sendall(b"GET /stream?n=%d HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % n)
        reader = RawReader(sock)
        status, headers = reader.head()
        return status, headers, reader.chunks()


@pytest.mark.parametrize("relay", RELAYS)
def test_streamed_response_of_100_chunks(servers, relay):
    s = servers(relay=relay)
    status, headers, chunks = call(_stream_raw, s.addr, 100)
    assert status == 200
    names = {k.lower(): v for k, v in headers}
    assert names.get("transfer-encoding") == "chunked"
    assert "content-length" not in names
    assert names.get("x-stream") == "yes"
    # One HTTP chunk per worker frame, flushed as it came, in order.
    assert chunks == [f"chunk-{i}\n".encode() for i in range(100)]
    # The worker went back to the pool: it serves the next request.
    assert call(get, s.addr, "/pid").status == 200


def _read_then_hang_up(addr: tuple[str, int], path: str, marker: bytes) -> bytes:
    sock = socket.create_connection(addr, timeout=TIMEOUT)
    try:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        return RawReader(sock).until(marker)
    finally:
        sock.close()


@pytest.mark.parametrize("relay", RELAYS)
def test_client_disconnect_mid_stream_stops_the_worker_stream(servers, relay):
    s = servers(relay=relay, pool={"num_workers": 1, "stream_timeout": "5s"})
    (pid,) = s.pids()
    marker = s.scratch / "stopped"
    # 3000 chunks 10 ms apart: 30 s if nobody stops it.
    path = f"/stream?n=3000&delay=0.01&marker={quote(str(marker))}"
    seen = call(_read_then_hang_up, s.addr, path, b"chunk-5\n")
    assert b"chunk-5\n" in seen
    wait_for(marker.exists, timeout=10, what="the worker to notice the stopped stream")
    assert marker.read_text().split() == ["stopped", str(pid)]
    # Same worker (it obeyed the STOP, nobody had to kill it), ready for the next request.
    r = call(get, s.addr, "/pid")
    assert r.status == 200
    assert int(r.body) == pid
    assert s.pids() == [pid]


def _early_hints(addr: tuple[str, int]) -> tuple[tuple, tuple, bytes]:
    with socket.create_connection(addr, timeout=TIMEOUT) as sock:
        sock.sendall(b"GET /hints HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        reader = RawReader(sock)
        first = reader.head()
        final = reader.head()
        length = int(dict((k.lower(), v) for k, v in final[1])["content-length"])
        return first, final, reader.exactly(length)


def test_early_hints_then_final_response(servers):
    s = servers()
    (status1, headers1), (status2, headers2), body = call(_early_hints, s.addr)
    assert status1 == 103
    assert ("Link", "</style.css>; rel=preload; as=style") in headers1
    assert status2 == 200
    names2 = [k.lower() for k, _ in headers2]
    assert "link" not in names2  # the 103's headers are its own (RoadRunner v6)
    assert ("X-Final", "yes") in headers2
    assert body == b"after hints"


@pytest.mark.parametrize("code", [99, 600, 700])
def test_status_outside_100_599_is_500(servers, code):
    # internal_error_code does not apply: RoadRunner answers a plain 500 for this one.
    s = servers(pool={"num_workers": 1}, http={"internal_error_code": 502})
    r = call(get, s.addr, f"/status?code={code}")
    assert r.status == 500, r
    assert r.body == f"unknown status code from worker: {code}\n".encode()
    assert call(get, s.addr, "/status?code=201").status == 201  # the worker is fine


def test_whole_answer_has_content_length_not_chunked(servers):
    """A one-frame answer is not a stream: it leaves with its length, like Go's small writes."""
    s = servers()
    out = call(raw_exchange, s.addr, b"GET /pid HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nContent-Length: %d" % len(body) in head
    assert b"Transfer-Encoding" not in head
    assert int(body) in s.pids()
