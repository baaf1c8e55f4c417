"""The memory driver on its own: the context bytes, the queue order, counters, delays, stop."""

from __future__ import annotations

import gevent
import pytest

from actors.config.model import MemoryPipelineConfig
from actors.plugins.jobs.driver import Job, JobOptions
from actors.plugins.jobs.drivers.memory import MemoryDriver
from actors.plugins.jobs.errors import JobsError
from actors.plugins.jobs.queue import PriorityQueue


def job(n: int, priority: int = 0, delay: int = 0, **headers: list[str]) -> Job:
    return Job(f"J{n}", str(n), b"p", headers, JobOptions(priority=priority, delay=delay))


def test_the_context_is_go_json_in_roadrunners_key_order() -> None:
    queue = PriorityQueue()
    driver = MemoryDriver(MemoryPipelineConfig("p<1>"), queue)
    driver.push(Job("A<b>&c\u2028é", "id-1", b"x", {"z": ["1"], "a": ["2"]}))
    driver.run()
    gevent.sleep(0)
    item = queue.extract(timeout=1)
    assert item is not None
    assert (
        item.context()
        == (
            '{"id":"id-1","job":"A\\u003cb\\u003e\\u0026c\\u2028é","driver":"memory",'
            '"queue":"p\\u003c1\\u003e","headers":{"a":["2"],"z":["1"]},'
            '"pipeline":"p\\u003c1\\u003e"}'
        ).encode()
    )


def test_priority_order_ties_in_arrival_order_and_prefetch() -> None:
    queue = PriorityQueue()
    driver = MemoryDriver(MemoryPipelineConfig("p", priority=5, prefetch=3), queue)
    for n, priority in enumerate([7, 0, 1, 5, 0]):
        driver.push(job(n, priority))
    driver.run()
    gevent.sleep(0)
    assert len(queue) == 3  # prefetch: the rest waits in the pipeline
    assert driver.state().active == 5
    items = [queue.extract(timeout=1) for _ in range(3)]
    assert [i.id for i in items if i] == ["2", "1", "0"]  # 0 means the pipeline's 5
    for item in items:
        assert item is not None
        item.ack()
    gevent.sleep(0)
    rest = [queue.extract(timeout=1) for _ in range(2)]
    assert [(i.id, i.priority) for i in rest if i] == [("3", 5), ("4", 5)]


def test_delays_pause_and_stop() -> None:
    queue = PriorityQueue()
    driver = MemoryDriver(MemoryPipelineConfig("p"), queue)
    driver.run()
    driver.push(job(1, delay=1))
    assert (driver.state().delayed, driver.state().active) == (1, 0)
    assert queue.extract(timeout=0.5) is None
    item = queue.extract(timeout=2)
    assert item is not None and item.id == "1"
    driver.pause()
    with pytest.raises(JobsError, match="no active listeners, nothing to pause"):
        driver.pause()
    driver.push(job(2))
    driver.push(job(3, delay=30))
    gevent.sleep(0.05)
    assert len(queue) == 0 and driver.state().ready is False
    driver.stop(1)
    assert (driver.state().active, driver.state().delayed) == (1, 0)  # item 1 still in flight
    with pytest.raises(JobsError, match="in_memory_push: no such pipeline: p"):
        driver.push(job(4))


def test_a_full_shared_queue_holds_the_jobs_in_the_pipeline() -> None:
    queue = PriorityQueue(capacity=2)
    driver = MemoryDriver(MemoryPipelineConfig("p"), queue)
    for n in range(5):
        driver.push(job(n))
    driver.run()
    gevent.sleep(0.05)
    assert len(queue) == 2 and driver.state().active == 5
    first = queue.extract(timeout=1)
    gevent.sleep(0.05)
    assert first is not None and first.id == "0"
    assert len(queue) == 2  # room again: the next one came in
    assert [i.id for i in (queue.extract(timeout=1) for _ in range(4)) if i] == ["1", "2", "3", "4"]
