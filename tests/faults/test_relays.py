"""Relays: churn of tcp/unix connections under concurrent load (RR #1008).

Covered elsewhere: the whole core suite runs on pipes, tcp and unix (tests/core), with big
payloads; max_jobs=1 with 16 requests on 2 workers (test_max_jobs_one_under_concurrency);
stale unix socket and tcp port in use (tests/core/test_server.py, tests/relays/test_listener.py).
"""

from __future__ import annotations

import collections
import http.client

import gevent
import pytest

from relays import Payload
from tests.support.hub import wait_for
from tests.support.pools import pids

CLIENTS = 8
PER_CLIENT = 10


@pytest.mark.slow
@pytest.mark.parametrize("max_jobs", [1, 2, 3])
def test_small_max_jobs_under_concurrent_load_loses_no_request(sockets_pool_harness, max_jobs):
    """Every few requests each worker's connection is replaced, while 8 callers keep going."""
    n = 3
    pool = sockets_pool_harness.pool(
        "fault_pid", num_workers=n, max_jobs=max_jobs, allocate_timeout="20s"
    )
    answers: list[int] = []
    failures: list[str] = []

    def client() -> None:
        for _ in range(PER_CLIENT):
            try:
                answers.append(int(pool.exec(Payload(b"0")).body))
            except Exception as exc:
                failures.append(f"{type(exc).__name__}: {exc}")

    jobs = [gevent.spawn(client) for _ in range(CLIENTS)]
    gevent.joinall(jobs, timeout=90)
    assert all(j.dead for j in jobs), "a caller is stuck"
    assert not failures, failures[:5]
    assert len(answers) == CLIENTS * PER_CLIENT
    per_worker = collections.Counter(answers)
    # max_jobs <= 6 has no jitter: no worker may serve more than max_jobs requests.
    assert max(per_worker.values()) <= max_jobs, per_worker.most_common(3)
    assert wait_for(lambda: len(pids(pool)) == n, timeout=15)
    assert pool.queue == 0


def _get_pids(addr: tuple[str, int], count: int) -> list[int | str]:
    out: list[int | str] = []
    for _ in range(count):
        conn = http.client.HTTPConnection(*addr, timeout=20)
        try:
            conn.request("GET", "/pid")
            resp = conn.getresponse()
            body = resp.read()
            out.append(int(body) if resp.status == 200 else f"{resp.status} {body[:100]!r}")
        except (OSError, http.client.HTTPException) as exc:
            out.append(f"{type(exc).__name__}: {exc}")
        finally:
            conn.close()
    return out


@pytest.mark.slow
@pytest.mark.parametrize("relay", ["tcp", "unix"])
def test_http_with_max_jobs_one_on_socket_relays_has_zero_failed_requests(servers, relay):
    from tests.support.hub import call

    s = servers(relay=relay, pool={"num_workers": 3, "max_jobs": 1, "allocate_timeout": "20s"})
    jobs = [gevent.spawn(call, _get_pids, s.addr, 8) for _ in range(CLIENTS)]
    gevent.joinall(jobs, timeout=90)
    results = [r for j in jobs for r in j.get(timeout=0)]
    bad = [r for r in results if not isinstance(r, int)]
    assert not bad, bad[:5]
    assert len(results) == CLIENTS * 8
    assert len(set(results)) == len(results), "a worker served twice with max_jobs=1"
