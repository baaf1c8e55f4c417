"""Clients that hold connections for free: header deadline, body rate, 413 early, connection cap.

Real sockets on loopback; every client loop is bounded in count and in time.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
import time

import gevent
import pytest

from tests.support.http_wire import read_all, read_until
from tests.support.hub import call, spawn_call, wait_for


def ok(req, resp) -> None:
    resp.start(200, [("Content-Type", "text/plain")])
    resp.finish(b"ok:" + req.path)


def test_slowloris_head_is_cut_at_header_timeout_while_others_are_served(serve):
    """One header byte every 0.5 s: cut at the 2 s header deadline, not at read_timeout."""
    called = []

    def handler(req, resp):
        called.append(req.path)
        ok(req, resp)

    server = serve(handler, header_timeout=2.0, read_timeout=300.0)
    head = b"GET /slow HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 40

    def slowloris() -> tuple[bytes, float]:
        with socket.create_connection(server.address, timeout=10) as sock:
            started = time.monotonic()
            with contextlib.suppress(OSError):
                for i in range(len(head)):  # at most ~40 s, the test stops far earlier
                    sock.sendall(head[i : i + 1])
                    sock.settimeout(0.5)
                    try:
                        if not sock.recv(65536, socket.MSG_PEEK):
                            break
                        break  # an answer arrived
                    except TimeoutError:
                        pass
            data = read_all(sock, timeout=5)
            return data, time.monotonic() - started

    def normal() -> bytes:
        conn = http.client.HTTPConnection(*server.address, timeout=5)
        conn.request("GET", "/fast")
        body = conn.getresponse().read()
        conn.close()
        return body

    slow = spawn_call(slowloris)
    gevent.sleep(0.6)  # the slow client is connected and trickling first
    assert call(normal) == b"ok:/fast"
    data, elapsed = slow.get(timeout=30)
    assert data.startswith(b"HTTP/1.1 408 "), data[:80]
    assert 1.5 <= elapsed < 5.0, elapsed
    assert called == [b"/fast"]


def test_trickled_body_is_cut_by_min_body_rate(serve):
    """A body at 10 bytes/s with min_body_rate 1000 and a 0.5 s grace is cut within seconds."""
    server = serve(ok, min_body_rate=1000, body_grace=0.5, read_timeout=300.0)

    def client() -> tuple[bytes, float]:
        with socket.create_connection(server.address, timeout=10) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
            started = time.monotonic()
            with contextlib.suppress(OSError):
                for _ in range(100):  # 10 s at most
                    sock.sendall(b"x")
                    time.sleep(0.1)
                    if time.monotonic() - started > 4:
                        break
            return read_all(sock, timeout=5), time.monotonic() - started

    data, elapsed = call(client)
    assert data.startswith(b"HTTP/1.1 408 "), data[:80]
    assert elapsed < 4, elapsed


def test_steady_slow_body_above_min_body_rate_is_served(serve):
    """A body at ~4 KB/s (four times the rate asked) for 2 s is read whole and answered."""
    got = []

    def handler(req, resp):
        got.append(len(req.body))
        ok(req, resp)

    server = serve(handler, min_body_rate=1000, body_grace=0.2, read_timeout=300.0)
    size = 8000

    def client() -> bytes:
        with socket.create_connection(server.address, timeout=10) as sock:
            sock.sendall(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size)
            for _ in range(size // 200):
                sock.sendall(b"y" * 200)
                time.sleep(0.05)
            return read_until(sock, b"ok:/up", timeout=5)

    assert call(client).startswith(b"HTTP/1.1 200 ")
    assert got == [size]


@pytest.mark.parametrize("chunked", [True, False])
def test_body_over_max_request_size_gets_413_before_the_client_finished(serve, chunked):
    """The 413 arrives while the client is still sending; the server reads about limit + one
    chunk (plus the bounded drain), never the whole 50 MiB body."""
    limit = 256 * 1024
    server = serve(ok, max_request_size=limit)
    chunk = 16 * 1024
    total = 50 * 1024 * 1024

    def client() -> tuple[bytes, int]:
        with socket.create_connection(server.address, timeout=10) as sock:
            if chunked:
                sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
                frame = b"%x\r\n" % chunk + b"z" * chunk + b"\r\n"
            else:
                # A Content-Length under the limit that lies: the body itself crosses it.
                sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % total)
                frame = b"z" * chunk
            sent = 0
            sock.setblocking(False)
            answer = b""
            deadline = time.monotonic() + 20
            while sent < total and time.monotonic() < deadline:
                try:
                    answer = sock.recv(65536)
                    break  # the answer (or the close) came
                except BlockingIOError:
                    pass
                try:
                    sent += sock.send(frame)
                except BlockingIOError:
                    time.sleep(0.005)
                except OSError:
                    break
            sock.setblocking(True)
            with contextlib.suppress(OSError):
                answer += read_all(sock, timeout=5)
            return answer, sent

    answer, sent = call(client)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:80]
    # limit + one recv of slack + the bounded drain + what the kernel buffers hold (~several MB
    # on loopback at most): far from the 50 MiB sent in full before.
    assert sent < 16 * 1024 * 1024, sent


def test_max_connections_closes_the_next_one_and_logs_once(serve, caplog):
    logger = logging.getLogger("test.http.limits")
    server = serve(ok, max_connections=5, logger=logger)
    caplog.set_level(logging.WARNING, logger="test.http.limits")
    socks = []
    try:

        def connect() -> socket.socket:
            s = socket.create_connection(server.address, timeout=5)
            socks.append(s)
            return s

        for _ in range(5):
            call(connect)
        wait_for(lambda: server.connections == 5, 5, "five open connections")
        refused = [call(connect) for _ in range(3)]

        def closed(sock: socket.socket) -> bytes:
            with contextlib.suppress(OSError):
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return read_all(sock, timeout=5)

        for sock in refused:
            assert call(closed, sock) in (b"", b"<<reset>>")  # closed at once, no answer
        assert server.connections == 5
        lines = [r.getMessage() for r in caplog.records if "max_connections" in r.getMessage()]
        assert len(lines) == 1, lines
        assert "raise http.max_connections" in lines[0]
        # The five still work, and once one leaves a new connection is served again.
        assert call(closed, socks[0]).startswith(b"HTTP/1.1 200 ")
        wait_for(lambda: server.connections == 4, 5, "one connection closed")
        assert call(closed, call(connect)).startswith(b"HTTP/1.1 200 ")
    finally:
        for s in socks:
            s.close()


def test_body_over_max_request_size_is_not_drained_in_full(serve):
    """A client that pushes its 50 MiB chunked body without reading: after the 413 the server
    drains at most a bounded amount (so the answer is not reset by unread data in the common
    case) and then closes; it used to read for a whole second, the entire body on loopback."""
    limit = 256 * 1024
    server = serve(ok, max_request_size=limit)
    chunk = 64 * 1024
    total = 50 * 1024 * 1024
    frame = b"%x\r\n" % chunk + b"z" * chunk + b"\r\n"

    def client() -> int:
        with socket.create_connection(server.address, timeout=3) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            sent = 0
            started = time.monotonic()
            with contextlib.suppress(OSError):  # reset, broken pipe, or the 3 s send timeout
                while sent < total and time.monotonic() - started < 20:
                    sock.sendall(frame)
                    sent += len(frame)
            return sent

    sent = call(client)
    assert sent < 16 * 1024 * 1024, sent
