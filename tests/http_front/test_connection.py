"""Connection lifecycle: keep-alive, pipelining, timeouts, disconnects, graceful stop."""

from __future__ import annotations

import http.client
import socket
import struct
import time

import gevent
import gevent.event

from tests.support.http_wire import exchange, get, parse_responses, read_all, read_until
from tests.support.hub import call, spawn_call


def echo_path(req, resp) -> None:
    resp.start(200, [("Content-Type", "text/plain")])
    resp.finish(req.path)


def test_keep_alive_100_sequential_requests_on_one_connection(serve):
    peers = set()

    def handler(req, resp):
        peers.add(req.remote_addr)
        echo_path(req, resp)

    server = serve(handler)

    def client():
        conn = http.client.HTTPConnection(*server.address, timeout=10)
        bodies = []
        for i in range(100):
            conn.request("GET", f"/r{i}")
            resp = conn.getresponse()
            bodies.append(resp.read())
        conn.close()
        return bodies

    assert call(client) == [b"/r%d" % i for i in range(100)]
    assert len(peers) == 1


def test_pipelined_requests_are_answered_in_order(serve):
    def handler(req, resp):
        # The first request is the slowest: answers must still come back in order.
        gevent.sleep({b"/1": 0.05, b"/2": 0.0, b"/3": 0.01}[req.path])
        echo_path(req, resp)

    server = serve(handler)
    raw = call(
        exchange,
        server.address,
        b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody"
        b"GET /3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    assert [(s, b) for s, _, b in parse_responses(raw)] == [
        (200, b"/1"),
        (200, b"/2"),
        (200, b"/3"),
    ]


def test_request_split_across_many_writes(serve):
    server = serve(echo_path)

    def client():
        data = (
            b"POST /split HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n"
            b"Connection: close\r\n\r\n0123456789"
        )
        with socket.create_connection(server.address) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(len(data)):
                sock.sendall(data[i : i + 1])
            return read_all(sock)

    assert parse_responses(call(client))[0][2] == b"/split"


def test_client_gone_is_set_when_the_peer_closes_while_handler_waits(serve):
    entered = gevent.event.Event()
    result = []

    def handler(req, resp):
        entered.set()
        result.append(resp.client_gone.wait(timeout=5))
        resp.finish(b"too late")  # must not raise

    server = serve(handler)

    def client():
        sock = socket.create_connection(server.address)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        return sock

    sock = call(client)
    assert entered.wait(5)
    sock.close()
    deadline = time.monotonic() + 5
    while not result and time.monotonic() < deadline:
        gevent.sleep(0.01)
    assert result == [True]


def test_client_gone_not_set_for_a_pipelined_next_request(serve):
    flags = []
    entered = gevent.event.Event()
    release = gevent.event.Event()

    def handler(req, resp):
        if req.path == b"/slow":
            entered.set()
            release.wait(5)
        flags.append(resp.client_gone.is_set())
        echo_path(req, resp)

    server = serve(handler)

    def client():
        with socket.create_connection(server.address) as sock:
            sock.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.1)
            sock.sendall(b"GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            time.sleep(0.1)
            return read_all(sock)

    g = spawn_call(client)
    assert entered.wait(5)
    gevent.sleep(0.3)
    release.set()
    raw = g.get(timeout=10)
    assert [b for _, _, b in parse_responses(raw)] == [b"/slow", b"/next"]
    assert flags == [False, False]


def test_streaming_to_a_vanished_client_stops_without_raising(serve):
    outcome = []

    def handler(req, resp):
        resp.start(200, [])
        try:
            for _ in range(2000):
                if resp.client_gone.is_set():
                    outcome.append("gone")
                    return
                resp.write(b"x" * 4096)
                gevent.sleep(0.001)
            outcome.append("completed")
        except Exception as exc:  # pragma: no cover - the assertion reports it
            outcome.append(exc)

    server = serve(handler)

    def client():
        sock = socket.create_connection(server.address)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        read_until(sock, b"xxxx")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # RST

    call(client)
    deadline = time.monotonic() + 10
    while not outcome and time.monotonic() < deadline:
        gevent.sleep(0.01)
    assert outcome == ["gone"]


def test_a_request_line_cut_before_its_url_is_timed_by_header_timeout(serve):
    """The header deadline starts with a request's first bytes, even when they stop after the
    method (the parser reports a message with its URL; the loop covers bytes before it), not
    with the far longer keep-alive timeout of an idle connection."""
    server = serve(lambda req, resp: None, header_timeout=0.3, keepalive_timeout=30.0)

    def client() -> tuple[bytes, float]:
        with socket.create_connection(server.address) as sock:
            sock.sendall(b"GE")
            started = time.monotonic()
            return read_all(sock, timeout=10), time.monotonic() - started

    data, elapsed = call(client)
    assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert elapsed < 5


def test_slowloris_is_closed_after_read_timeout(serve):
    called = []
    server = serve(lambda req, resp: called.append(req), read_timeout=0.3)

    def client():
        with socket.create_connection(server.address) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            started = time.monotonic()
            try:
                for _ in range(20):  # keeps trickling, never finishes the header section
                    sock.sendall(b"X-A: b\r\n")
                    time.sleep(0.05)
            except OSError:
                pass
            data = read_all(sock, timeout=5)
            return data, time.monotonic() - started

    data, elapsed = call(client)
    assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert elapsed < 4
    assert called == []


def test_slow_body_is_closed_after_read_timeout(serve):
    called = []
    server = serve(lambda req, resp: called.append(req), read_timeout=0.3)
    raw = call(
        exchange,
        server.address,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-part",
    )
    assert raw.startswith(b"HTTP/1.1 408 ")
    assert called == []


def test_idle_keep_alive_connection_is_closed_quietly(serve):
    server = serve(echo_path, keepalive_timeout=0.3)

    def client():
        with socket.create_connection(server.address) as sock:
            sock.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
            first = read_until(sock, b"/a")
            started = time.monotonic()
            rest = read_all(sock, timeout=5)
            return first, rest, time.monotonic() - started

    first, rest, elapsed = call(client)
    assert first.startswith(b"HTTP/1.1 200 OK")
    assert rest == b""  # closed without a response
    assert elapsed < 4


def test_graceful_stop_lets_in_flight_request_finish(serve):
    entered = gevent.event.Event()

    def handler(req, resp):
        if req.path == b"/slow":
            entered.set()
            gevent.sleep(0.4)
        resp.start(200, [])
        resp.finish(b"finished")

    server = serve(handler)
    address = server.address

    def idle_client():
        sock = socket.create_connection(address)
        sock.sendall(b"GET /idle HTTP/1.1\r\nHost: x\r\n\r\n")
        read_until(sock, b"finished")
        return sock

    idle_sock = call(idle_client)  # an idle keep-alive connection
    g = spawn_call(get, address, "/slow")
    assert entered.wait(5)
    stopper = gevent.spawn(server.stop, 5.0)
    gevent.sleep(0.05)
    # stop() closed the idle connection right away ...
    assert call(read_all, idle_sock, 2) == b""
    idle_sock.close()
    # ... and refuses new connections ...
    try:
        call(socket.create_connection, address, 1)
        refused = False
    except OSError:
        refused = True
    assert refused
    # ... while the in-flight request completes, told the connection closes.
    status, headers, body = g.get(timeout=5)
    assert (status, body, headers.get("Connection")) == (200, b"finished", "close")
    stopper.get(timeout=5)
    assert server.connections == 0


def test_stop_timeout_bounds_a_stuck_handler(serve):
    entered = gevent.event.Event()

    def handler(req, resp):
        entered.set()
        gevent.sleep(30)

    server = serve(handler)
    g = spawn_call(exchange, server.address, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert entered.wait(5)
    started = time.monotonic()
    server.stop(0.3)
    assert time.monotonic() - started < 3
    assert g.get(timeout=5) in (b"", b"<<reset>>")
    assert server.connections == 0


def test_no_nagle_stall_with_streamed_keep_alive_responses(serve):
    """Regression for the 40 ms Nagle/delayed-ACK stall: 200 keep-alive requests whose
    responses are written in several sends must not take 200 x 40 ms."""

    def handler(req, resp):
        resp.start(200, [("Content-Type", "text/plain")])
        resp.write(b"hello ")
        resp.write(b"world")
        resp.finish()

    server = serve(handler)

    def client():
        conn = http.client.HTTPConnection(*server.address, timeout=10)
        started = time.monotonic()
        for _ in range(200):
            conn.request("GET", "/")
            assert conn.getresponse().read() == b"hello world"
        conn.close()
        return time.monotonic() - started

    assert call(client) < 3.0
