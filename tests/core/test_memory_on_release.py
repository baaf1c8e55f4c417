"""max_worker_memory is also checked when a worker is released, not only every tick.

A worker leaking 10 MiB per request overshot a 40 MiB limit by several requests between
two ticks. With the check on release, a worker over the limit never takes another
request: none is served by a worker already above the limit.
"""

from __future__ import annotations

from relays import Payload
from tests.support.hub import wait_for
from tests.support.pools import pids

MIB = 1 << 20


def test_a_leaking_worker_is_retired_on_release(pool_harness):
    # A tick far away: only the release check can retire the worker in this test.
    pool = pool_harness.pool(
        "memleak", num_workers=1, supervisor={"watch_tick": "60s", "max_worker_memory": 40}
    )
    seen = set(pids(pool))
    hoards = []
    for _ in range(12):
        hoards.append(int(pool.exec(Payload(b"x")).body))
        seen |= pids(pool)
    # The hoard is what the worker kept before answering; its RSS is that plus the
    # interpreter. Serving at most one request past 40 MiB bounds the hoard at 40 MiB
    # (a worker entering a request under the limit leaves it under ~50 MiB).
    assert max(hoards) <= 40 * MIB, [h // MIB for h in hoards]
    assert len(seen) >= 3, f"workers were not recycled: {seen}, hoards {hoards}"
    assert wait_for(lambda: len(pids(pool)) == 1, timeout=5)


def test_a_worker_under_the_limit_is_kept(pool_harness):
    pool = pool_harness.pool(
        "echo", num_workers=1, supervisor={"watch_tick": "60s", "max_worker_memory": 200}
    )
    (pid,) = pids(pool)
    for _ in range(20):
        assert pool.exec(Payload(b"x")).body == b"x"
    assert pids(pool) == {pid}
