"""A private RabbitMQ per test session (per xdist worker), started by the harness in
``tests/support/rabbitmq.py``; the tests skip only where rabbitmq-server is not installed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.jobs_amqp.harness import Peer
from tests.support.rabbitmq import RabbitMQ, missing_reason


@pytest.fixture(scope="session")
def rabbit() -> Iterator[RabbitMQ]:
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    broker = RabbitMQ()
    try:
        broker.start()
        yield broker
    finally:
        broker.close()


@pytest.fixture
def live_rabbit(rabbit: RabbitMQ) -> RabbitMQ:
    """The session broker, started again if a previous test stopped it and failed."""
    rabbit.start()
    return rabbit


@pytest.fixture
def peer(live_rabbit: RabbitMQ) -> Peer:
    return Peer(live_rabbit)
