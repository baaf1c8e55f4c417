"""The amqp driver through the whole jobs plugin: pushed over RPC with the SDK producer,
through a real RabbitMQ, consumed by real worker processes, answered with the SDK consumer."""

from __future__ import annotations

import collections
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from relays.jobs import Jobs
from tests.jobs.harness import JobsHarness
from tests.support.hub import wait_for
from tests.support.rabbitmq import RabbitMQ


@pytest.fixture
def jobs(tmp_path: Path) -> Iterator[JobsHarness]:
    harness = JobsHarness(tmp_path)
    yield harness
    harness.close()


def _amqp(rabbit: RabbitMQ, **keys: Any) -> dict[str, Any]:
    """One amqp pipeline on its own queue; the broker comes from the top-level ``amqp``."""
    name = f"q-{uuid.uuid4().hex[:8]}"
    return {"driver": "amqp", "config": {"queue": name, "routing_key": name, **keys}}


def _start(jobs: JobsHarness, rabbit: RabbitMQ, pipeline: dict[str, Any], **kw: Any) -> None:
    jobs.start({"amqp-p": pipeline}, sections={"amqp": {"addr": rabbit.url}}, **kw)


@pytest.mark.slow
def test_ten_thousand_jobs_over_rpc_are_each_consumed_once(
    live_rabbit: RabbitMQ, jobs: JobsHarness
) -> None:
    _start(jobs, live_rabbit, _amqp(live_rabbit, prefetch=100))
    total, batch = 10_000, 500

    def push(j: Jobs) -> list[str]:
        queue = j.connect("amqp-p")
        ids: list[str] = []
        for start in range(0, total, batch):
            ids += queue.push_batch(
                [
                    queue.job("ack", f"payload-{n}".encode(), headers={"n": [str(n)]})
                    for n in range(start, start + batch)
                ]
            )
        return ids

    ids = jobs.call(push)
    got = jobs.wait_received(total, timeout=120)
    counts = collections.Counter(job["id"] for job in got)
    assert set(counts) == set(ids)
    assert max(counts.values()) == 1
    for job in got:
        assert job["payload"] == f"payload-{job['headers']['n'][0]}"
        assert job["driver"] == "amqp"
        assert job["pipeline"] == "amqp-p"
    state = jobs.wait_state(lambda s: s["Active"] == 0 and s["Reserved"] == 0, "amqp-p")
    assert state["Driver"] == "amqp"


def test_jobs_pushed_over_rpc_reach_the_workers_with_priority_headers_and_delay(
    live_rabbit: RabbitMQ, jobs: JobsHarness
) -> None:
    _start(jobs, live_rabbit, _amqp(live_rabbit))

    def push(j: Jobs) -> None:
        queue = j.connect("amqp-p")
        queue.push("ack", "later", headers={"k": ["v1", "v2"]}, delay=1)
        queue.push("requeue", "again")
        queue.push("nack", "gone")

    jobs.call(push)
    got = jobs.wait_received(4, timeout=20)
    by_payload = collections.defaultdict(list)
    for job in got:
        by_payload[job["payload"]].append(job)
    # (RabbitMQ's x-death table of the delay queue is spread into the headers too, as upstream)
    assert by_payload["later"][0]["headers"]["k"] == ["v1", "v2"]
    # requeue comes back once with the header the worker added
    assert [j["headers"].get("attempt") for j in by_payload["again"]] == [None, ["2"]]
    assert len(by_payload["gone"]) == 1
    jobs.wait_state(lambda s: s["Active"] == 0 and s["Reserved"] == 0, "amqp-p")


def test_pause_and_resume_over_rpc(live_rabbit: RabbitMQ, jobs: JobsHarness) -> None:
    _start(jobs, live_rabbit, _amqp(live_rabbit))
    jobs.call(lambda j: j.pause("amqp-p"))
    jobs.wait_state(lambda s: s["Ready"] is False, "amqp-p")
    jobs.call(lambda j: j.connect("amqp-p").push("ack", "held"))
    jobs.wait_state(lambda s: s["Active"] == 1, "amqp-p")
    assert jobs.received() == []
    jobs.call(lambda j: j.resume("amqp-p"))
    assert [j["payload"] for j in jobs.wait_received(1)] == ["held"]


def test_a_worker_killed_mid_job_does_not_lose_the_job(
    live_rabbit: RabbitMQ, jobs: JobsHarness
) -> None:
    """The worker dies before answering: the plugin nacks with requeue (amqp keeps the job),
    a new worker gets it again."""
    _start(jobs, live_rabbit, _amqp(live_rabbit, requeue_on_fail=True), num_workers=1)
    jobs.call(lambda j: j.connect("amqp-p").push("sleep", "30"))
    first = jobs.wait_received(1)[0]
    os.kill(first["pid"], signal.SIGKILL)

    def again() -> bool:
        return len(jobs.received()) >= 2

    wait_for(again, 20.0, lambda: f"the job delivered again, got {jobs.received()}")
    second = jobs.received()[1]
    assert second["id"] == first["id"]
    assert second["pid"] != first["pid"]
