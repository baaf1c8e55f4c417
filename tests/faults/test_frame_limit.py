"""A worker's frame header is capped after the handshake (``server.max_frame_size``).

A worker announcing 4 GiB and streaming used to make the server buffer it all (and hang
without exec_ttl). Now the header is refused before the payload is read: the request
fails at once naming the worker, the size and the limit, the worker is killed and
replaced, and the server's memory stays where it was.
"""

from __future__ import annotations

import os
import time

import pytest

from actors.errors import WorkerProtocolError
from relays import Payload
from tests.support.hub import wait_for
from tests.support.pools import pids

_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss() -> int:
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[1]) * _PAGE


def test_a_frame_over_the_limit_kills_the_worker_at_once(pool_harness):
    pool = pool_harness.pool(
        "huge_frame", num_workers=1, server={"max_frame_size": 16}, allocate_timeout="5s"
    )
    (pid,) = pids(pool)
    before = _rss()
    started = time.monotonic()
    with pytest.raises(WorkerProtocolError) as info:
        pool.exec(Payload(b"x"))
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"the request took {elapsed:.2f}s to fail"
    msg = str(info.value)
    assert f"pid {pid}" in msg and "4294967295" in msg and str(16 << 20) in msg, msg
    assert "max_frame_size" in msg
    grown = _rss() - before
    assert grown < 32 << 20, f"the server's RSS grew by {grown >> 20} MiB"
    assert wait_for(lambda: len(pids(pool)) == 1 and pid not in pids(pool), timeout=5)
    assert _rss() - before < 32 << 20


def test_the_default_limit_is_256_mib(pipes_pool_harness):
    pool = pipes_pool_harness.pool("huge_frame", num_workers=1)
    (pid,) = pids(pool)
    with pytest.raises(WorkerProtocolError, match=str(256 << 20)):
        pool.exec(Payload(b"x"))
    assert wait_for(lambda: len(pids(pool)) == 1 and pid not in pids(pool), timeout=5)


def test_answers_under_the_limit_pass(pool_harness):
    pool = pool_harness.pool("echo", num_workers=1, server={"max_frame_size": 1})
    body = b"y" * ((1 << 20) - 100)
    assert pool.exec(Payload(body)).body == body
