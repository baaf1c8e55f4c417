"""1,000 concurrent connections, 100 delimited messages each: every one answered, in order."""

from __future__ import annotations

import time

import gevent
import gevent.pool
import pytest

from tests.tcp.harness import Client, TcpHarness

CONNECTIONS = 1000
MESSAGES = 100
#: Loopback only, 2 shared cores: the whole run must finish well within this.
DEADLINE = 90.0


@pytest.mark.slow
def test_1000_connections_100_messages_each(tcp: TcpHarness) -> None:
    tcp.start(num_workers=4, log=False)
    address = tcp.address()
    answered = [0] * CONNECTIONS

    def one(n: int) -> None:
        client = Client(address, timeout=DEADLINE)
        try:
            for i in range(MESSAGES):
                line = f"{n}:{i}\r\n".encode()
                client.send(line)
                # In order: the answer to message i comes before anything of message i+1.
                assert client.recv_until(b"\r\n") == line
                answered[n] += 1
        finally:
            client.close()

    started = time.monotonic()
    group = gevent.pool.Group()
    greenlets = [group.spawn(one, n) for n in range(CONNECTIONS)]
    group.join(timeout=DEADLINE)
    elapsed = time.monotonic() - started
    failed = [g.exception for g in greenlets if g.dead and g.exception is not None]
    group.kill()
    assert not failed, f"{len(failed)} connections failed, first: {failed[0]!r}"
    assert sum(answered) == CONNECTIONS * MESSAGES, (
        f"{sum(answered)} of {CONNECTIONS * MESSAGES} answered in {elapsed:.1f}s"
    )
