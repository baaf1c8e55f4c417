"""HTTP front with real workers: slow clients, clients leaving mid-request, a worker
killed mid-stream.

Covered elsewhere: Nagle/delayed-ACK stalls (tests/http_plugin/test_load.py,
tests/http_front/test_connection.py::test_no_nagle_stall_with_streamed_keep_alive_responses),
a client leaving while queued (tests/http_plugin/test_failures.py::
test_client_leaving_while_queued_releases_its_place), a client leaving mid-stream
(tests/http_plugin/test_responses.py::test_client_disconnect_mid_stream_stops_the_worker_stream),
slowloris at the HTTP front alone (tests/http_front/test_connection.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import threading
import time

import gevent

from tests.support.http_client import TIMEOUT, RawReader, get, read_all
from tests.support.hub import call, spawn_call, wait_for


def _slow_upload(addr: tuple[str, int], body: bytes, seconds: float) -> bytes:
    """POST ``body`` in 20 pieces spread over ``seconds``; return the raw answer."""
    with socket.create_connection(addr, timeout=TIMEOUT) as sock:
        sock.sendall(
            b"POST /digest HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        )
        step = len(body) // 20 + 1
        for i in range(0, len(body), step):
            sock.sendall(body[i : i + step])
            time.sleep(seconds / 20)
        return read_all(sock)


def _slowloris(addr: tuple[str, int], seconds: float) -> bytes:
    """Header lines trickling for ``seconds``, then the end of the head."""
    with socket.create_connection(addr, timeout=TIMEOUT) as sock:
        sock.sendall(b"GET /pid HTTP/1.1\r\nHost: t\r\nConnection: close\r\n")
        for i in range(20):
            sock.sendall(b"X-Slow-%d: yes\r\n" % i)
            time.sleep(seconds / 20)
        sock.sendall(b"\r\n")
        return read_all(sock)


def test_slow_upload_and_slowloris_do_not_pin_the_only_worker(servers):
    s = servers(pool={"num_workers": 1, "allocate_timeout": "500ms"})
    (pid,) = s.pids()
    body = os.urandom(64 * 1024)
    upload = spawn_call(_slow_upload, s.addr, body, 2.0)
    loris = spawn_call(_slowloris, s.addr, 2.0)
    gevent.sleep(0.3)
    fast = 0
    while not upload.ready() and fast < 8:
        started = time.monotonic()
        r = call(get, s.addr, "/pid")
        assert r.status == 200, r  # a pinned worker would give 503 after 500 ms
        assert time.monotonic() - started < 0.45
        fast += 1
        gevent.sleep(0.1)
    assert fast >= 5, "the slow clients finished too early to test anything"
    (worker,) = s.workers()
    assert worker["numExecs"] == fast, "a slow client reached the worker before its request"
    head, _, answer = upload.get(timeout=TIMEOUT).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert json.loads(answer)["sha256"] == hashlib.sha256(body).hexdigest()
    assert loris.get(timeout=TIMEOUT).startswith(b"HTTP/1.1 200 ")
    assert s.pids() == [pid]


def _send_and_leave(addr: tuple[str, int], path: str, after: float) -> None:
    sock = socket.create_connection(addr, timeout=TIMEOUT)
    try:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        time.sleep(after)
    finally:
        sock.close()


def test_client_leaving_mid_exec_leaks_no_worker(servers):
    s = servers(pool={"num_workers": 1, "allocate_timeout": "10s"})
    (pid,) = s.pids()
    call(_send_and_leave, s.addr, "/sleep?s=1", 0.3)  # gone while the worker sleeps
    assert s.busy(), "the request should still be running in the worker"
    started = time.monotonic()
    r = call(get, s.addr, "/pid")
    assert r.status == 200, r
    assert time.monotonic() - started < 3
    assert int(r.body) == pid, "the worker finished its request and came back"
    wait_for(lambda: s.pool.queue == 0, timeout=5, what="the queue to empty")
    assert [w["statusStr"] for w in s.workers()] == ["ready"]


def _read_stream_until_cut(addr: tuple[str, int], five: threading.Event) -> tuple[int, bool, float]:
    """Read a chunked stream; return (chunks, ended properly, when it ended)."""
    with socket.create_connection(addr, timeout=TIMEOUT) as sock:
        sock.sendall(b"GET /stream?n=3000&delay=0.01 HTTP/1.1\r\nHost: t\r\n\r\n")
        reader = RawReader(sock)
        status, _ = reader.head()
        assert status == 200
        count = 0
        while True:
            try:
                size = int(reader.until(b"\r\n")[:-2], 16)
            except (EOFError, ConnectionResetError):
                return count, False, time.monotonic()
            if size == 0:
                return count, True, time.monotonic()
            reader.exactly(size + 2)
            count += 1
            if count == 5:
                five.set()


def test_worker_killed_mid_stream_cuts_the_response_and_the_next_request_is_served(servers):
    s = servers(pool={"num_workers": 1})
    (pid,) = s.pids()
    five = threading.Event()  # set by the client thread
    reader = spawn_call(_read_stream_until_cut, s.addr, five)
    assert wait_for(five.is_set, timeout=10, what="five chunks")
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    count, ended, when = reader.get(timeout=TIMEOUT)
    assert not ended, "a stream cut by a dead worker must not look complete"
    assert when - killed < 5, f"the client waited {when - killed:.1f}s after the kill"
    assert count < 3000
    r = call(get, s.addr, "/pid")
    assert r.status == 200 and int(r.body) != pid
