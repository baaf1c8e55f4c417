"""Failures between the server and its workers, and how the client sees them.

Each test also checks that the pool recovers: the request after the failure is served.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import gevent
import pytest

from actors.system import ActorSystem, StartupError
from tests.support.http_client import TIMEOUT, get, request
from tests.support.http_servers import Server, Servers
from tests.support.hub import call, spawn_call, wait_for
from tests.support.workers import worker_cmd


@pytest.mark.parametrize("debug", [False, True], ids=["nodebug", "debug"])
def test_worker_error_frame_is_500_error_text_only_in_debug(servers, debug):
    s = servers(pool={"num_workers": 1, "debug": debug})
    r = call(get, s.addr, "/error?secret=42")
    assert r.status == 500, r
    if debug:
        assert b"worker says no: secret=42" in r.body
    else:
        assert b"worker says no" not in r.body
        assert b"secret=42" not in r.body
    r = call(get, s.addr, "/echo")
    assert r.status == 200
    if not debug:
        # A soft error keeps the worker: the same process answered both requests.
        assert r.json()["pid"] in s.pids()
        assert len(s.pids()) == 1


def test_worker_crash_mid_request_is_500_then_next_succeeds(servers):
    s = servers(pool={"num_workers": 1})
    (pid,) = s.pids()
    r = call(get, s.addr, "/crash")
    assert r.status == 500, r
    assert str(pid).encode() not in r.body  # details only in debug mode
    r = call(get, s.addr, "/pid")
    assert r.status == 200
    assert int(r.body) != pid  # served by the replacement


def test_exec_ttl_is_500_then_next_succeeds(servers):
    s = servers(pool={"num_workers": 1, "supervisor": {"exec_ttl": "1s"}})
    (pid,) = s.pids()
    started = time.monotonic()
    r = call(get, s.addr, "/sleep?s=30")
    elapsed = time.monotonic() - started
    assert r.status == 500, r
    assert elapsed < 10, "exec_ttl did not cut the request short"
    r = call(get, s.addr, "/pid")
    assert r.status == 200
    assert int(r.body) != pid  # the stuck worker was killed and replaced


def _start_retrying(servers: Servers, **kwargs: Any) -> Server:
    """allocate_timeout also bounds a worker's boot: 200 ms can be too short on a loaded box."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            return servers(**kwargs)
        except StartupError:
            gevent.sleep(0.3)
    return servers(**kwargs)


def test_no_free_worker_is_503_with_retry_after(servers):
    s = _start_retrying(servers, pool={"num_workers": 1, "allocate_timeout": "200ms"})
    slow = spawn_call(get, s.addr, "/sleep?s=2")
    wait_for(s.busy, what="the slow request to hold the worker")
    started = time.monotonic()
    r = call(get, s.addr, "/pid")
    assert r.status == 503, r
    assert r.header("Retry-After") == "1"
    assert time.monotonic() - started < 1.5, "it waited for the worker instead"
    assert slow.get(timeout=TIMEOUT).status == 200
    assert call(get, s.addr, "/pid").status == 200


def test_max_queue_size_is_503(servers):
    s = servers(pool={"num_workers": 1, "max_queue_size": 1, "allocate_timeout": "10s"})
    slow = spawn_call(get, s.addr, "/sleep?s=1")
    wait_for(s.busy, what="the slow request to hold the worker")
    started = time.monotonic()
    r = call(get, s.addr, "/pid")
    assert r.status == 503, r
    assert r.header("Retry-After") == "1"
    assert time.monotonic() - started < 0.9, "it queued instead of being refused"
    assert slow.get(timeout=TIMEOUT).status == 200
    # The refused request did not leak a queue place.
    assert call(get, s.addr, "/pid").status == 200
    assert s.pool.queue == 0


def _send_and_hang_up(addr: tuple[str, int], path: str, wait: float) -> None:
    sock = socket.create_connection(addr, timeout=TIMEOUT)
    try:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        time.sleep(wait)
    finally:
        sock.close()


def test_client_leaving_while_queued_releases_its_place(servers):
    s = servers(pool={"num_workers": 1, "allocate_timeout": "10s"})
    (pid,) = s.pids()
    slow = spawn_call(get, s.addr, "/sleep?s=1.5")
    wait_for(s.busy, what="the slow request to hold the worker")
    # Queued behind the slow one (it would keep the worker 3 s), then gone.
    leaver = spawn_call(_send_and_hang_up, s.addr, "/sleep?s=3", 0.6)
    wait_for(lambda: s.pool.free.waiting == 1, timeout=5, what="the second request to queue")
    leaver.get(timeout=TIMEOUT)
    wait_for(lambda: s.pool.free.waiting == 0, timeout=5, what="the waiter to give up")
    assert not slow.ready(), "too slow to test anything: the worker is free already"
    assert slow.get(timeout=TIMEOUT).status == 200
    started = time.monotonic()
    r = call(get, s.addr, "/pid")
    elapsed = time.monotonic() - started
    assert r.status == 200
    assert elapsed < 2.5, "the abandoned request ran first"
    # The worker saw two requests (the slow one and the last one), never the abandoned one.
    (worker,) = s.workers()
    assert worker["pid"] == pid
    assert worker["numExecs"] == 2
    assert s.pool.queue == 0


def test_error_after_an_empty_first_stream_chunk_is_a_500(servers):
    """Nothing was on the wire yet, so the client must get the error status, not the 200
    (and the JSON content type) the failed stream had announced."""
    s = servers(worker_cmd("http_edge_cases"))
    r = call(request, s.addr, "GET", "/empty-then-error")
    assert r.status == 500, r
    assert r.header("Content-Type") == "text/plain; charset=utf-8"
    r = call(request, s.addr, "GET", "/empty-then-crash")
    assert r.status == 500, r


def test_queue_full_503_says_why(servers):
    s = servers(worker_cmd("http_edge_cases"), pool={"num_workers": 1, "max_queue_size": 1})
    slow = spawn_call(request, s.addr, "GET", "/sleep?s=1")
    wait_for(lambda: s.busy(), what="the only worker to be busy")
    r = call(request, s.addr, "GET", "/sleep?s=0")
    assert r.status == 503
    assert r.header("Retry-After") == "1"
    assert b"no free workers" not in r.body
    assert b"queue" in r.body
    assert slow.get(timeout=TIMEOUT).status == 200


def test_listen_error_hint_matches_the_cause():
    """'is another server running there?' is for EADDRINUSE only: an address this host does
    not have (EADDRNOTAVAIL) needs another fix."""
    system = ActorSystem.from_dict(
        {
            "server": {"command": worker_cmd("http_app")},
            "http": {"address": "192.0.2.1:8080", "pool": {"num_workers": 1}},
            "logs": {"level": "error", "mode": "off"},
        }
    )
    with pytest.raises(StartupError) as info:
        system.start()
    message = str(info.value)
    assert "http.address" in message and "192.0.2.1:8080" in message
    assert "another server" not in message
    assert "not an address of this host" in message
