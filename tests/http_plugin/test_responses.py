"""What the client gets: streams and their cancellation, 1xx, odd statuses, header bytes,
trailers, half-closed clients, and the access log line of each request."""

from __future__ import annotations

import json
import socket
from urllib.parse import quote

import pytest

from actors.system import ActorSystem
from tests.support.http_client import (
    TIMEOUT,
    RawReader,
    body_of,
    get,
    raw_exchange,
    read_all,
    request,
)
from tests.support.hub import call, wait_for
from tests.support.workers import RELAYS, worker_cmd


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


def test_non_ascii_response_header_leaves_as_utf8(servers):
    """Go writes a header string's bytes: the worker's ``é`` (UTF-8 in its JSON) is c3 a9."""
    s = servers(worker_cmd("http_edge_cases"))
    raw = call(
        raw_exchange, s.addr, b"GET /header HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n"), raw
    assert "X-Name: café Ω\r\n".encode() in raw
    assert "X-Latin: café\r\n".encode() in raw


def test_headers_named_by_trailer_are_sent_as_trailers(servers):
    """RoadRunner's handleProtoTrailers: the headers a worker lists in ``Trailer`` leave after
    the body (so the body is chunked), and the ``Trailer`` key itself is dropped."""

    def exchange(addr: tuple[str, int]) -> tuple[int, list[tuple[str, str]], list[bytes], bytes]:
        with socket.create_connection(addr, timeout=TIMEOUT) as sock:
            sock.sendall(b"GET /trailer HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            reader = RawReader(sock)
            status, headers = reader.head()
            chunks = []
            while True:
                size = int(reader.until(b"\r\n")[:-2], 16)
                if size == 0:
                    break
                chunks.append(reader.exactly(size))
                reader.exactly(2)
            return status, headers, chunks, reader.until(b"\r\n\r\n")

    s = servers(worker_cmd("http_edge_cases"))
    status, headers, chunks, trailer = call(exchange, s.addr)
    names = {k.lower(): v for k, v in headers}
    assert status == 200
    assert names.get("transfer-encoding") == "chunked"
    assert "x-sum" not in names and "trailer" not in names
    assert names.get("x-keep") == "1"
    assert b"".join(chunks) == b"data"
    assert trailer == b"X-Sum: abc\r\n\r\n"


def _half_close(addr: tuple[str, int], data: bytes) -> bytes:
    with socket.create_connection(addr, timeout=TIMEOUT) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        return read_all(sock)


def test_client_that_half_closes_still_gets_its_answer(servers):
    """A client may send its request and shut down its sending side (``nc -N``): the answer
    the worker produced must reach it, not an empty 200 invented by the server."""
    s = servers(worker_cmd("http_edge_cases"))
    raw = call(_half_close, s.addr, b"GET /sleep?s=0.3 HTTP/1.1\r\nHost: t\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n"), raw
    assert body_of(raw) == b"slept"


def _stream_then_half_close(addr: tuple[str, int]) -> bytes:
    with socket.create_connection(addr, timeout=TIMEOUT) as sock:
        sock.sendall(b"GET /stream?n=200&delay=0.02 HTTP/1.1\r\nHost: t\r\n\r\n")
        reader = RawReader(sock)
        seen = reader.until(b"chunk-2\n")
        sock.shutdown(socket.SHUT_WR)
        return seen + reader.buf + read_all(sock)


def test_stream_cancelled_by_the_client_is_not_framed_as_complete(servers):
    """When the server stops a stream because the client left, the chunked body must not get
    its terminating zero chunk: a client still reading would take the cut body as whole."""
    s = servers(worker_cmd("http_app"), pool={"num_workers": 1})
    raw = call(_stream_then_half_close, s.addr)
    assert b"chunk-2\n" in raw
    assert b"chunk-199\n" not in raw
    assert not raw.endswith(b"0\r\n\r\n"), raw[-200:]


def test_access_log_line_has_the_status(tmp_path):
    """``http.access_logs`` must say how each request ended: status and bytes written."""
    out = tmp_path / "access.log"
    system = ActorSystem.from_dict(
        {
            "server": {"command": worker_cmd("http_edge_cases")},
            "http": {"address": "127.0.0.1:0", "access_logs": True, "pool": {"num_workers": 1}},
            "logs": {"level": "info", "mode": "production", "output": str(out)},
        }
    )
    system.start()
    try:
        addr = system.plugins["http"].address
        assert call(request, addr, "GET", "/nowhere").status == 404
    finally:
        system.stop(timeout=5)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    (entry,) = [e for e in lines if e.get("msg") == "http access log"]
    assert entry["status"] == 404
    assert entry["method"] == "GET" and entry["uri"] == "/nowhere"
    assert entry["remote_address"] == "127.0.0.1"
    assert entry["write_bytes"] > len("no route /nowhere")
    assert entry["elapsed_ms"] >= 0
