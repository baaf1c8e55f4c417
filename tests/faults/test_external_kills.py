"""Workers killed from outside are replaced at once, not paused as a crash loop.

SIGKILLing a random worker every 500 ms under load drove a pool of 4 down to 1 with a
10 s backoff: each kill of a young worker counted as a fast death. A worker killed by a
signal the server did not send, after it served a request, did not crash-loop.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import time

import gevent
import pytest

from actors.errors import PoolError
from relays import Payload
from tests.support.hub import wait_for
from tests.support.pools import pids


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def pool_log():
    handler = _Records()
    logger = logging.getLogger("greenrunner.pool")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_random_external_kills_under_load_do_not_pause_the_pool(pipes_pool_harness, pool_log):
    pool = pipes_pool_harness.pool("echo", num_workers=4)
    stop_at = time.monotonic() + 3.0
    served = [0]

    def load() -> None:
        deadline = stop_at + 1.0
        while time.monotonic() < deadline:
            try:
                pool.exec(Payload(b"x"))
                served[0] += 1
            except PoolError:  # the request on a killed worker fails; that is expected
                gevent.sleep(0.01)

    clients = [gevent.spawn(load) for _ in range(8)]
    kills = 0
    rng = random.Random(7)
    while time.monotonic() < stop_at:
        gevent.sleep(0.2)
        live = sorted(pids(pool))
        if live:
            try:
                os.kill(rng.choice(live), signal.SIGKILL)
                kills += 1
            except ProcessLookupError:
                pass
    assert kills >= 10
    assert wait_for(lambda: len(pids(pool)) == 4, timeout=1.0, what=lambda: pids(pool)), (
        "the pool was not back to 4 workers a second after the kills stopped"
    )
    gevent.joinall(clients, timeout=10)
    assert served[0] > 0
    pauses = [m for m in pool_log.messages if "keep dying" in m]
    assert not pauses, pauses
    assert pool.exec(Payload(b"ok")).body == b"ok"


def test_workers_dying_on_their_own_still_back_off(pipes_pool_harness, short_tmp, pool_log):
    """The crash-loop backoff stays for workers that exit by themselves after starting."""
    crash, attempts = short_tmp / "crash", short_tmp / "attempts"
    pool = pipes_pool_harness.pool(
        "fault_pid",
        num_workers=2,
        allocate_timeout="2s",
        server={"env": {"CRASH_FLAG": str(crash), "ATTEMPTS_FILE": str(attempts)}},
    )
    crash.touch()
    for pid in pids(pool):
        os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: any("keep dying" in m for m in pool_log.messages), timeout=10)
    crash.unlink()
    assert wait_for(lambda: len(pids(pool)) == 2, timeout=30)
