"""Consuming through the driver: exactly once, priorities, delays, nack/requeue, pause."""

from __future__ import annotations

import time

import gevent
import pytest

from tests.jobs_amqp.harness import (
    Collector,
    Peer,
    PriorityCollector,
    driver_for,
    job,
    pipeline_config,
    push_all,
)
from tests.support.hub import wait_for
from tests.support.rabbitmq import RabbitMQ


@pytest.mark.slow
@pytest.mark.timeout(300)  # a broker start, 10,000 jobs or a restart on a loaded machine
def test_ten_thousand_jobs_consumed_exactly_once(live_rabbit: RabbitMQ, peer: Peer) -> None:
    cfg = pipeline_config(live_rabbit, prefetch=200, durable=True)
    queue = Collector()
    total = 10_000
    with driver_for(cfg, queue) as driver:
        push_all(
            driver, [job(n, headers={"n": [str(n)], "kind": ["bulk", "x"]}) for n in range(total)]
        )
        assert driver.state().active == total
        driver.run()
        acked = 0
        while acked < total:
            queue.wait(acked + 1, timeout=30)
            for item in queue.items[acked:]:
                item.ack()
                acked += 1
        gevent.sleep(0.5)  # anything delivered twice would show up now
        assert len(queue.items) == total
        ids = [item.id for item in queue.items]
        assert len(set(ids)) == total
        for item in queue.items:
            n = item.id.removeprefix("job-")
            assert item.payload == f'{{"n":"{n}"}}'.encode()
            assert item.headers == {"n": [n], "kind": ["bulk", "x"]}
            assert item.name == "Task" and item.pipeline == cfg.name and not item.redelivered
        wait_for(lambda: driver.state().active == 0 and driver.state().reserved == 0)
    assert peer.declare(cfg.queue, passive=True, durable=True) == 0


def test_priorities_order_consumption(live_rabbit: RabbitMQ) -> None:
    cfg = pipeline_config(live_rabbit, priority=5, prefetch=50)
    queue = PriorityCollector()
    with driver_for(cfg, queue) as driver:
        order = [7, 1, 9, 0, 3, 2]  # 0 is the pipeline's priority (5)
        for n, priority in enumerate(order):
            driver.push(job(n, priority=priority))
        driver.run()
        queue.wait(len(order))
        popped = [queue.pop() for _ in order]
        assert [item.priority for item in popped] == [1, 2, 3, 5, 7, 9]
        assert popped[3].id == "job-3"
        for item in popped:
            item.ack()


def test_delayed_jobs_wait_at_least_their_delay(live_rabbit: RabbitMQ, peer: Peer) -> None:
    cfg = pipeline_config(live_rabbit)
    queue = Collector()
    with driver_for(cfg, queue) as driver:
        driver.run()
        started = time.monotonic()
        driver.push(job("late", delay=2))
        driver.push(job("now"))
        first = queue.wait(1)[0]
        assert first.id == "job-now"
        assert driver.state().delayed == 1
        late = queue.wait(2, timeout=10)[1]
        waited = time.monotonic() - started
        assert late.id == "job-late" and late.delay == 2 and waited >= 2.0, waited
        # RoadRunner's layout: a per-delay queue dead-lettering into the pipeline's exchange
        assert peer.declare(f"delayed-2000.{cfg.exchange}.{cfg.queue}", passive=True) == 0
        first.ack()
        late.ack()
        assert driver.state().delayed == 0


def test_nack_with_requeue_comes_back(live_rabbit: RabbitMQ) -> None:
    queue = Collector()
    with driver_for(pipeline_config(live_rabbit), queue) as driver:
        driver.run()
        driver.push(job(1))
        queue.wait(1)[0].nack(requeue=True)
        again = queue.wait(2)[1]
        assert again.id == "job-1" and again.redelivered
        again.ack()


def test_nack_without_requeue_is_gone(live_rabbit: RabbitMQ, peer: Peer) -> None:
    queue = Collector()
    cfg = pipeline_config(live_rabbit)
    with driver_for(cfg, queue) as driver:
        driver.run()
        driver.push(job(1))
        queue.wait(1)[0].nack()
        gevent.sleep(0.5)
        assert len(queue.items) == 1
        assert peer.declare(cfg.queue, passive=True) == 0


def test_nack_without_requeue_is_dead_lettered(live_rabbit: RabbitMQ, peer: Peer) -> None:
    cfg = pipeline_config(live_rabbit)
    dead = f"{cfg.queue}-dead"
    peer.declare(dead)
    cfg = pipeline_config(
        live_rabbit,
        name=cfg.name,
        queue_headers={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead},
    )
    queue = Collector()
    with driver_for(cfg, queue) as driver:
        driver.run()
        driver.push(job(1))
        queue.wait(1)[0].nack()
        got = wait_for(lambda: peer.get(dead), what="the job in the dead-letter queue")
        assert got[1].headers["rr_id"] == "job-1" and got[2] == b'{"n":"1"}'


def test_requeue_on_fail_puts_a_nacked_job_back(live_rabbit: RabbitMQ) -> None:
    queue = Collector()
    with driver_for(pipeline_config(live_rabbit, requeue_on_fail=True), queue) as driver:
        driver.run()
        driver.push(job(1))
        queue.wait(1)[0].nack()
        assert queue.wait(2)[1].id == "job-1"
        queue.items[1].ack()


def test_requeue_merges_headers_and_waits_the_delay(live_rabbit: RabbitMQ) -> None:
    queue = Collector()
    with driver_for(pipeline_config(live_rabbit), queue) as driver:
        driver.run()
        driver.push(job(1, headers={"a": ["1"]}))
        first = queue.wait(1)[0]
        started = time.monotonic()
        first.requeue({"attempts": ["2"]}, delay=1)
        second = queue.wait(2, timeout=10)[1]
        assert time.monotonic() - started >= 1.0
        assert second.id == "job-1" and second.payload == first.payload
        assert second.headers["a"] == ["1"] and second.headers["attempts"] == ["2"]
        second.ack()
        gevent.sleep(0.3)
        assert len(queue.items) == 2  # the original was acked, not redelivered


def test_nack_with_delay_requeues_through_the_delay_queue(live_rabbit: RabbitMQ) -> None:
    queue = Collector()
    with driver_for(pipeline_config(live_rabbit), queue) as driver:
        driver.run()
        driver.push(job(1))
        started = time.monotonic()
        queue.wait(1)[0].nack(requeue=True, delay=1)
        again = queue.wait(2, timeout=10)[1]
        assert again.id == "job-1" and time.monotonic() - started >= 1.0
        again.ack()


def test_pause_stops_consumption_and_resume_restarts_it(live_rabbit: RabbitMQ) -> None:
    queue = Collector()
    with driver_for(pipeline_config(live_rabbit), queue) as driver:
        driver.run()
        driver.push(job(1))
        queue.wait(1)[0].ack()
        driver.pause()
        assert not driver.state().ready
        for n in range(2, 6):
            driver.push(job(n))
        gevent.sleep(0.5)
        assert len(queue.items) == 1
        assert driver.state().active == 4
        driver.resume()
        assert driver.state().ready
        items = queue.wait(5)
        assert [i.id for i in items[1:]] == ["job-2", "job-3", "job-4", "job-5"]
        for item in items[1:]:
            item.ack()


def test_items_received_before_pause_can_still_be_acked(live_rabbit: RabbitMQ, peer: Peer) -> None:
    queue = Collector()
    cfg = pipeline_config(live_rabbit)
    with driver_for(cfg, queue) as driver:
        driver.run()
        driver.push(job(1))
        item = queue.wait(1)[0]
        driver.pause()
        item.ack()
        driver.resume()
        gevent.sleep(0.5)
        assert len(queue.items) == 1
    assert peer.declare(cfg.queue, passive=True) == 0


def test_auto_ack_jobs_are_acked_on_receipt(live_rabbit: RabbitMQ, peer: Peer) -> None:
    queue = Collector()
    cfg = pipeline_config(live_rabbit)
    with driver_for(cfg, queue) as driver:
        driver.run()
        driver.push(job(1, auto_ack=True))
        item = queue.wait(1)[0]
        assert item.auto_ack
        wait_for(lambda: driver.state().active == 0)
        assert driver.state().reserved == 0
        item.nack(requeue=True)  # a no-op: the broker already has the ack
        gevent.sleep(0.3)
        assert len(queue.items) == 1
    assert peer.declare(cfg.queue, passive=True) == 0


def test_run_without_queue_is_upstreams_error(live_rabbit: RabbitMQ) -> None:
    with driver_for(pipeline_config(live_rabbit, queue=""), Collector()) as driver:
        with pytest.raises(ValueError, match="empty queue name"):
            driver.run()
        assert "empty queue name" in driver.state().error_message


def test_multiple_ack_acks_earlier_deliveries_too(live_rabbit: RabbitMQ, peer: Peer) -> None:
    queue = Collector()
    cfg = pipeline_config(live_rabbit, multiple_ack=True)
    with driver_for(cfg, queue) as driver:
        driver.run()
        for n in range(3):
            driver.push(job(n))
        items = queue.wait(3)
        items[2].ack()  # with multiple set, the two before it are acked with it
        wait_for(lambda: driver.state().active == 0)
        driver.pause()
    # the connection is closed: anything still unacked would be back in the queue now
    assert peer.declare(cfg.queue, passive=True) == 0
