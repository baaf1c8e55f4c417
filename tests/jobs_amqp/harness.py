"""The driver-level harness: a small in-test :class:`~actors.plugins.jobs.driver.Queue`, drivers
built from the real config schema on a private broker, and a plain pika peer that plays a
RoadRunner instance (or a bare consumer) on the same queues.

No plugin core here: the tests call ``push``/``run``/``pause`` and the items' ``ack``/``nack``
themselves, as the jobs plugin's pollers would.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import gevent
import pika

from actors.config.model import AmqpPipelineConfig
from actors.config.schema.amqp import AmqpPipelineSchema
from actors.plugins.jobs.driver import Job, JobOptions
from actors.plugins.jobs.drivers.amqp import AmqpDriver, AmqpItem, make_amqp_driver
from tests.support.hub import call, wait_for
from tests.support.rabbitmq import RabbitMQ

__all__ = ["Collector", "Peer", "PriorityCollector", "driver_for", "job", "pipeline_config"]

log = logging.getLogger("tests.jobs_amqp")


class Collector:
    """The plugin's queue, reduced to a list: every inserted item, in arrival order."""

    def __init__(self) -> None:
        self.items: list[AmqpItem] = []

    def insert(self, item: Any) -> None:
        self.items.append(item)

    def wait(self, count: int, timeout: float = 20.0) -> list[AmqpItem]:
        wait_for(
            lambda: len(self.items) >= count,
            timeout,
            lambda: f"{count} items, have {len(self.items)}",
        )
        return self.items


class PriorityCollector(Collector):
    """Like the plugin's priority queue: :meth:`pop` gives the lowest priority first."""

    def __init__(self) -> None:
        super().__init__()
        self._heap: list[tuple[int, int, AmqpItem]] = []
        self._seq = itertools.count()

    def insert(self, item: Any) -> None:
        super().insert(item)
        heapq.heappush(self._heap, (item.priority, next(self._seq), item))

    def pop(self) -> AmqpItem:
        return heapq.heappop(self._heap)[2]


def pipeline_config(rabbit: RabbitMQ, name: str = "", **keys: Any) -> AmqpPipelineConfig:
    """A pipeline on its own queue (unique names, so tests sharing a broker do not meet)."""
    name = name or f"p-{uuid.uuid4().hex[:8]}"
    settings: dict[str, Any] = {"driver": "amqp", "queue": name, "routing_key": name}
    settings.update(keys)
    settings["addr"] = rabbit.url
    return AmqpPipelineSchema(name).load(settings)


@contextmanager
def driver_for(cfg: AmqpPipelineConfig, queue: Any) -> Iterator[AmqpDriver]:
    driver = make_amqp_driver(cfg, queue, log)
    assert isinstance(driver, AmqpDriver)
    try:
        yield driver
    finally:
        driver.stop(5.0)


def job(
    n: int | str, *, name: str = "Task", headers: dict[str, list[str]] | None = None, **options: Any
) -> Job:
    return Job(
        name=name,
        id=f"job-{n}",
        payload=f'{{"n":"{n}"}}'.encode(),
        headers=headers if headers is not None else {"n": [str(n)], "two": ["a", "b"]},
        options=JobOptions(**options),
    )


def push_all(driver: AmqpDriver, jobs: list[Job], concurrency: int = 50) -> None:
    """Push from ``concurrency`` greenlets, as concurrent RPC calls would."""
    pending = iter(jobs)

    def pusher() -> None:
        for j in pending:
            driver.push(j)

    gevent.joinall([gevent.spawn(pusher) for _ in range(concurrency)], raise_error=True)


class Peer:
    """A plain pika client in a real thread (BlockingConnection): a RoadRunner instance or any
    other program sharing the broker.  Each call opens its own connection."""

    def __init__(self, rabbit: RabbitMQ) -> None:
        self.url = rabbit.url

    def _with_channel(self, fn: Callable[[Any], Any]) -> Any:
        def run() -> Any:
            conn = pika.BlockingConnection(pika.URLParameters(self.url))
            try:
                return fn(conn.channel())
            finally:
                conn.close()

        return call(run)

    def publish(
        self, exchange: str, routing_key: str, body: bytes, headers: dict[str, Any], **props: Any
    ) -> None:
        def run(ch: Any) -> None:
            ch.confirm_delivery()
            ch.basic_publish(
                exchange, routing_key, body, pika.BasicProperties(headers=headers, **props)
            )

        self._with_channel(run)

    def get(self, queue: str) -> tuple[Any, Any, bytes] | None:
        """``basic.get`` one message (acked), or None."""

        def run(ch: Any) -> Any:
            method, props, body = ch.basic_get(queue, auto_ack=True)
            return None if method is None else (method, props, body)

        return self._with_channel(run)

    def declare(self, queue: str, **kwargs: Any) -> int:
        """Declare (or passively check) a queue; its ready message count."""

        def run(ch: Any) -> int:
            return int(ch.queue_declare(queue, **kwargs).method.message_count)

        return self._with_channel(run)
