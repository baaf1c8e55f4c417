"""Keep-alive under concurrency, and no Nagle / delayed-ACK stalls.

A response that leaves in two small writes without TCP_NODELAY waits for the client's delayed
ACK: about 40 ms per request.  The bounds below are loose (no micro-timing) but far under what
that stall costs.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator

import gevent
import pytest

from tests.support.http_client import TIMEOUT
from tests.support.hub import call

CONNECTIONS = 32
PER_CONNECTION = 50


@pytest.fixture
def big_threadpool() -> Iterator[None]:
    """Room for one client thread per connection (the hub's pool has 10 by default)."""
    pool = gevent.get_hub().threadpool
    old = pool.maxsize
    pool.maxsize = CONNECTIONS + 8
    yield
    pool.maxsize = old


def _client(addr: tuple[str, int], index: int, count: int) -> list[str]:
    """``count`` requests on ONE connection; returns the problems seen (empty when fine)."""
    problems = []
    conn = http.client.HTTPConnection(*addr, timeout=TIMEOUT)
    try:
        conn.connect()
        sock = conn.sock
        for j in range(count):
            conn.request("GET", f"/echo?c={index}&r={j}")
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                problems.append(f"{index}/{j}: status {resp.status} {body[:100]!r}")
                continue
            if json.loads(body)["rawQuery"] != f"c={index}&r={j}":
                problems.append(f"{index}/{j}: someone else's answer {body[:100]!r}")
            if resp.will_close or conn.sock is not sock:
                problems.append(f"{index}/{j}: the connection was not kept alive")
    except Exception as exc:
        problems.append(f"{index}: {type(exc).__name__}: {exc}")
    finally:
        conn.close()
    return problems


@pytest.mark.slow
def test_32_keepalive_connections_50_requests_each(servers, big_threadpool):
    s = servers(pool={"num_workers": 4})
    started = time.monotonic()
    jobs = [gevent.spawn(call, _client, s.addr, i, PER_CONNECTION) for i in range(CONNECTIONS)]
    gevent.joinall(jobs, timeout=60, raise_error=True)
    elapsed = time.monotonic() - started
    problems = [p for job in jobs for p in job.get(timeout=0)]
    assert not problems, problems[:10]
    assert s.execs() == CONNECTIONS * PER_CONNECTION
    # A gross bound for the whole (it takes about 1 s here); the sharp stall check is the
    # sequential test below, where 32 connections cannot hide each other's 40 ms waits.
    assert elapsed < 20, f"{elapsed:.1f}s for {CONNECTIONS * PER_CONNECTION} requests"


def test_sequential_keepalive_requests_do_not_stall(servers):
    s = servers(pool={"num_workers": 1})
    count = 200
    started = time.monotonic()
    problems = call(_client, s.addr, 0, count)
    elapsed = time.monotonic() - started
    assert not problems, problems[:10]
    # A 40 ms delayed-ACK stall per request would need 8 s; served normally this is ~0.1 s.
    assert elapsed < 4, f"{elapsed:.2f}s for {count} sequential requests"
