"""The amqp driver through the whole jobs plugin: pushed over RPC with the SDK producer,
through a real RabbitMQ, consumed by real worker processes, answered with the SDK consumer."""

from __future__ import annotations

import collections
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent
import pytest

from relays.jobs import Jobs
from relays.rpc import RPC, RPCError
from tests.jobs.harness import JobsHarness
from tests.support.hub import call, spawn_call, wait_for
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


@pytest.mark.slow
@pytest.mark.timeout(300)  # a broker restart and 2,000 pushes on a loaded machine
def test_broker_restart_while_pushing_over_rpc_and_consuming(
    live_rabbit: RabbitMQ, jobs: JobsHarness
) -> None:
    """The broker stops and starts again while a producer pushes over RPC and two workers
    consume.  The plugin redials by itself; every push that succeeded is consumed (at least
    once), including the backlog the broker held over the restart; a job acked before the
    restart is not delivered again.

    The workers take 50 ms a job (40 jobs/s for two), far slower than the producer even on
    a loaded machine, so the queue has a backlog when the broker stops (asserted): with a
    queue that did not survive the restart, those jobs would be missing.

    "Acked before the restart": received by a worker at least a second before the broker
    was told to stop (the worker acks at once, and the plugin sends the ack on the answer).
    A push that failed during the restart is retried with the same id, so the broker may
    hold two copies of it: those ids may be seen twice without being redeliveries.
    """
    _start(jobs, live_rabbit, _amqp(live_rabbit, durable=True, prefetch=20, redial_timeout=60))
    total = 600
    pushed: list[str] = []
    retried: set[str] = set()
    errors: list[str] = []

    def push_all() -> None:
        # A blocking SDK producer in a real thread; the hub keeps serving the plugin.
        with RPC.create(jobs.address, timeout=90) as rpc:
            queue = Jobs(rpc).connect("amqp-p")
            for n in range(total):
                job_id = f"job-{n}"
                for _ in range(20):
                    try:
                        queue.push("sleep", "0.05", id=job_id)
                        pushed.append(job_id)
                        break
                    except RPCError as exc:  # not confirmed: maybe in the broker, maybe not
                        retried.add(job_id)
                        errors.append(str(exc))
                        time.sleep(0.2)
                time.sleep(0.002)

    producer = spawn_call(push_all)
    jobs.wait_received(total // 10, timeout=60)
    mark = time.time()
    gevent.sleep(1.0)
    backlog = jobs.state("amqp-p")["Active"]
    pushed_before_stop = len(pushed)
    call(live_rabbit.stop)
    # the plugin noticed: the pipeline's state says it is redialing
    jobs.wait_state(lambda s: "redialing" in s["ErrorMessage"], "amqp-p")
    call(live_rabbit.start)
    producer.get(timeout=180)
    assert pushed_before_stop < total, "the producer was done before the restart"
    assert backlog > 0, "the broker held no backlog over the restart"
    assert len(pushed) == total, f"pushes that never succeeded: {errors[-3:]}"

    def missing() -> set[str]:
        return set(pushed) - {job["id"] for job in jobs.received()}

    wait_for(lambda: not missing(), 120.0, lambda: f"every job consumed, missing {missing()}", 0.2)
    state = jobs.wait_state(lambda s: s["Active"] == 0 and s["Reserved"] == 0, "amqp-p")
    assert state["ErrorMessage"] == "" and state["Ready"] is True
    got = jobs.received()
    deliveries = collections.Counter(job["id"] for job in got)
    early = {job["id"] for job in got if job["at"] < mark} - retried
    assert early, "no job was acked before the restart"
    again = sorted(job_id for job_id in early if deliveries[job_id] > 1)
    assert not again, f"acked before the restart, delivered again: {again[:10]}"
    print(
        f"pushed before the stop: {pushed_before_stop}, backlog then: {backlog}, "
        f"received before the mark: {len(early)}, "
        f"retried pushes: {len(retried)}, "
        f"delivered more than once: {sum(c > 1 for c in deliveries.values())}"
    )
