"""Jobs pushed over RPC reach the workers exactly once, in priority order, after their delay."""

from __future__ import annotations

import collections
import time

import gevent
import pytest

from relays.jobs import Jobs
from tests.jobs.harness import JobsHarness


@pytest.mark.slow
def test_ten_thousand_jobs_are_each_consumed_once_with_payload_and_headers(
    jobs: JobsHarness,
) -> None:
    jobs.start(num_workers=2)
    total, batch = 10_000, 500

    def push(j: Jobs) -> list[str]:
        queue = j.connect("default")
        ids = []
        for start in range(0, total - 100, batch):
            made = [
                queue.job("ack", f"payload-{n}".encode(), headers={"n": [str(n), "x"]})
                for n in range(start, min(start + batch, total - 100))
            ]
            ids += queue.push_batch(made)
        for n in range(total - 100, total):  # the single-job call too
            ids.append(queue.push("ack", f"payload-{n}", headers={"n": [str(n), "x"]}))
        return ids

    started = time.monotonic()
    ids = jobs.call(push)
    got = jobs.wait_received(total, timeout=60)
    elapsed = time.monotonic() - started
    assert len(ids) == total
    counts = collections.Counter(job["id"] for job in got)
    assert set(counts) == set(ids)
    assert max(counts.values()) == 1, [i for i, c in counts.items() if c > 1][:5]
    for job in got:
        n = job["headers"]["n"][0]
        assert job["payload"] == f"payload-{n}"
        assert job["headers"] == {"n": [n, "x"]}
        assert job["pipeline"] == "default"
        assert job["driver"] == "memory"
        assert job["queue"] == "default"
        assert job["mode"] == "jobs"
    state = jobs.wait_state(lambda s: s["Active"] == 0)
    assert state["Ready"] is True
    assert elapsed < 30, f"10,000 jobs took {elapsed:.1f}s"
    assert jobs.system.plugins["jobs"].metrics.jobs_ok == total


def test_lower_priority_runs_first_and_zero_takes_the_pipeline_priority(
    jobs: JobsHarness,
) -> None:
    jobs.start(
        {
            "low": {"driver": "memory", "config": {"priority": 1}},
            "high": {"driver": "memory", "priority": 50},
        },
        num_workers=1,
        num_pollers=1,
    )

    def push(j: Jobs) -> None:
        # The one poller is busy for a while, so every job below waits in the queue.
        j.connect("low").push("sleep", b"1")
        time.sleep(0.3)
        j.connect("high").push("ack", b"pipeline-50")
        j.connect("high").push("ack", b"own-30", priority=30)
        j.connect("low").push("ack", b"pipeline-1")
        j.connect("high").push("ack", b"own-5", priority=5)
        j.connect("low").push("ack", b"own-100", priority=100)

    jobs.call(push)
    got = jobs.wait_received(6)
    order = [job["payload"] for job in got[1:]]
    assert order == ["pipeline-1", "own-5", "own-30", "pipeline-50", "own-100"]


def test_delayed_jobs_wait_at_least_their_delay(jobs: JobsHarness) -> None:
    jobs.start()
    pushed = time.time()
    jobs.call(lambda j: j.connect("default").push("ack", b"late", delay=1))
    state = jobs.wait_state(lambda s: s["Delayed"] == 1)
    assert state["Active"] == 0
    jobs.call(lambda j: j.connect("default").push("ack", b"now"))
    got = jobs.wait_received(2, timeout=10)
    assert [job["payload"] for job in got] == ["now", "late"]
    assert got[1]["at"] - pushed >= 1.0
    jobs.wait_state(lambda s: s["Delayed"] == 0 and s["Active"] == 0)


def test_nack_with_requeue_comes_back_and_without_is_gone(jobs: JobsHarness) -> None:
    jobs.start()
    jobs.call(lambda j: j.connect("default").push("nack-requeue", b"again", id="again"))
    jobs.call(lambda j: j.connect("default").push("nack", b"gone", id="gone"))
    jobs.wait_received(3)
    gevent.sleep(0.5)  # nothing more comes
    got = jobs.received()
    assert sorted(job["id"] for job in got) == ["again", "again", "gone"]
    jobs.wait_state(lambda s: s["Active"] == 0)


def test_requeue_merges_headers_and_legacy_error_requeues(jobs: JobsHarness) -> None:
    jobs.start()
    jobs.call(
        lambda j: j.connect("default").push("requeue", b"r", id="r", headers={"keep": ["me"]})
    )
    jobs.call(lambda j: j.connect("default").push("legacy-error", b"l", id="l"))
    got = jobs.wait_received(4)
    by_id = collections.defaultdict(list)
    for job in got:
        by_id[job["id"]].append(job["headers"])
    assert by_id["r"] == [{"keep": ["me"]}, {"keep": ["me"], "attempt": ["2"]}]
    assert by_id["l"] == [{}, {"attempt": ["2"]}]


def test_worker_error_nacks_bad_answer_and_empty_body_ack(jobs: JobsHarness) -> None:
    jobs.start()
    for name in ("error", "bad", "empty"):
        jobs.call(lambda j, name=name: j.connect("default").push(name, b"", id=name))
    jobs.wait_received(3)
    jobs.wait_state(lambda s: s["Active"] == 0)
    gevent.sleep(0.3)
    assert sorted(job["id"] for job in jobs.received()) == ["bad", "empty", "error"]
    metrics = jobs.system.plugins["jobs"].metrics
    assert (metrics.jobs_ok, metrics.jobs_err) == (1, 2)


def test_a_streamed_answer_nacks_and_auto_ack_acks_before_running(jobs: JobsHarness) -> None:
    jobs.start()
    jobs.call(lambda j: j.connect("default").push("stream", b"", id="s"))
    jobs.call(lambda j: j.connect("default").push("nack-requeue", b"", id="a", auto_ack=True))
    jobs.wait_received(2)
    jobs.wait_state(lambda s: s["Active"] == 0)
    gevent.sleep(0.5)  # an auto-acked job is not requeued, whatever the worker answers
    assert sorted(job["id"] for job in jobs.received()) == ["a", "s"]
    metrics = jobs.system.plugins["jobs"].metrics
    assert (metrics.jobs_ok, metrics.jobs_err) == (1, 1)


def test_pause_stops_consumption_and_resume_restarts_it(jobs: JobsHarness) -> None:
    jobs.start()
    jobs.call(lambda j: j.pause("default"))
    state = jobs.wait_state(lambda s: not s["Ready"])
    jobs.call(lambda j: [j.connect("default").push("ack", str(n)) for n in range(5)])
    gevent.sleep(0.5)
    assert jobs.received() == []
    state = jobs.wait_state(lambda s: s["Active"] == 5)
    assert state["Ready"] is False
    jobs.call(lambda j: j.resume("default"))
    got = jobs.wait_received(5)
    assert sorted(job["payload"] for job in got) == ["0", "1", "2", "3", "4"]
    assert jobs.wait_state(lambda s: s["Active"] == 0)["Ready"] is True


def test_a_pipeline_not_in_consume_waits_for_resume(jobs: JobsHarness) -> None:
    jobs.start(consume=[])
    jobs.call(lambda j: j.connect("default").push("ack", b"x"))
    gevent.sleep(0.3)
    assert jobs.received() == []
    jobs.call(lambda j: j.resume("default"))
    assert jobs.wait_received(1)[0]["payload"] == "x"


def test_prefetch_bounds_the_jobs_in_flight(jobs: JobsHarness) -> None:
    jobs.start({"default": {"driver": "memory", "config": {"prefetch": 1}}}, num_workers=2)
    jobs.call(lambda j: [j.connect("default").push("sleep", b"0.3") for _ in range(3)])
    got = jobs.wait_received(3, timeout=10)
    starts = sorted(job["at"] for job in got)
    assert starts[1] - starts[0] >= 0.25 and starts[2] - starts[1] >= 0.25, starts
