"""Faults: a consumer killed mid-job, a connection lost before the ack, a broker restarted
under load, a stopped pipeline, a broker that is not there."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from dataclasses import replace

import gevent
import pytest

from actors.plugins.jobs.drivers.amqp import BrokerError, StoppedError, make_amqp_driver
from tests.jobs_amqp.harness import Collector, driver_for, job, pipeline_config
from tests.support.hub import call, wait_for
from tests.support.rabbitmq import RabbitMQ

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_consumer_killed_mid_job_loses_nothing(live_rabbit: RabbitMQ) -> None:
    cfg = pipeline_config(live_rabbit)
    queue = Collector()
    with driver_for(cfg, queue) as driver:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.jobs_amqp.consumer_process", live_rabbit.url, cfg.name],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert call(proc.stdout.readline).strip() == "consuming"  # type: ignore[union-attr]
            driver.push(job(1))
            assert call(proc.stdout.readline).strip() == "job-1"  # type: ignore[union-attr]
        finally:
            proc.kill()
            proc.wait()
        driver.run()
        item = queue.wait(1)[0]
        assert item.id == "job-1" and item.redelivered
        item.ack()


def test_ack_after_the_connection_died_is_a_logged_no_op_and_the_job_comes_back(
    live_rabbit: RabbitMQ, caplog: pytest.LogCaptureFixture
) -> None:
    queue = Collector()
    with driver_for(pipeline_config(live_rabbit), queue) as driver:
        driver.run()
        driver.push(job(1))
        first = queue.wait(1)[0]
        link = driver._link  # the connection goes away under the driver, before the ack
        assert link is not None
        link.close()
        with caplog.at_level(logging.WARNING, logger="tests.jobs_amqp"):
            first.ack()
        assert not first.settled_on_broker
        assert "job-1 was not ack" in caplog.text
        # the driver redials by itself and the broker delivers the job again
        again = queue.wait(2, timeout=20)[1]
        assert again.id == "job-1" and again.redelivered
        again.ack()
        assert again.settled_on_broker
        assert driver.connected


def test_stopped_pipeline_gives_unacked_jobs_back(live_rabbit: RabbitMQ) -> None:
    cfg = pipeline_config(live_rabbit)
    queue = Collector()
    driver = make_amqp_driver(cfg, queue, None)
    driver.run()
    for n in range(3):
        driver.push(job(n))
    items = queue.wait(3)
    driver.stop(5.0)
    with pytest.raises(StoppedError, match="pipeline is probably stopped"):
        items[0].ack()
    with pytest.raises(StoppedError):
        driver.push(job(9))
    other = Collector()
    with driver_for(cfg, other) as second:
        second.run()
        got = other.wait(3)
        assert sorted(i.id for i in got) == ["job-0", "job-1", "job-2"]
        assert all(i.redelivered for i in got)
        for item in got:
            item.ack()


def test_unreachable_broker_is_a_clear_error(live_rabbit: RabbitMQ) -> None:
    cfg = replace(pipeline_config(live_rabbit), addr="amqp://guest:guest@127.0.0.1:1/")
    started = time.monotonic()
    with pytest.raises(BrokerError, match=r"cannot connect to amqp://guest:\*\*\*@127.0.0.1:1/"):
        make_amqp_driver(cfg, Collector(), None)
    assert time.monotonic() - started < 15


@pytest.mark.slow
@pytest.mark.timeout(300)  # a broker start, 10,000 jobs or a restart on a loaded machine
def test_broker_restart_under_load(live_rabbit: RabbitMQ) -> None:
    """Pushers and a consumer run while the broker stops and starts again.

    Nothing unacked is lost: every job pushed (confirmed) is in the end acked on the broker.
    Nothing acked is redelivered: a job whose ack went out on a live channel before the
    broker was told to stop is not delivered again (acks sent while it shuts down may be
    lost with the connection; those jobs are redelivered, which is at-least-once delivery).
    """
    cfg = pipeline_config(live_rabbit, durable=True, prefetch=50, redial_timeout=60)
    queue = Collector()
    total = 3000
    retried: set[str] = set()  # pushes that failed once: the broker may hold two copies
    acked_at: dict[str, float] = {}
    deliveries: dict[str, list[float]] = {}

    def pusher(ids: range, driver: object) -> None:
        for n in ids:
            while True:
                try:
                    driver.push(job(n, headers={"n": [str(n)]}))  # type: ignore[attr-defined]
                    break
                except BrokerError:
                    retried.add(f"job-{n}")
                    gevent.sleep(0.2)
            gevent.sleep(0.002)

    def consumer() -> None:
        done = 0
        while True:
            queue.wait(done + 1, timeout=120)
            for item in queue.items[done:]:
                deliveries.setdefault(item.id, []).append(time.monotonic())
                gevent.sleep(0)  # "work"
                item.ack()
                if item.settled_on_broker:
                    acked_at.setdefault(item.id, time.monotonic())
                done += 1

    with driver_for(cfg, queue) as driver:
        driver.run()
        workers = [gevent.spawn(pusher, range(k, total, 5), driver) for k in range(5)]
        eater = gevent.spawn(consumer)
        wait_for(lambda: len(acked_at) >= total // 4, timeout=60)
        stop_began = time.monotonic()
        acked_before = len(acked_at)
        call(live_rabbit.stop)
        assert not driver.connected
        call(live_rabbit.start)
        gevent.joinall(workers, raise_error=True, timeout=120)
        wait_for(
            lambda: len(acked_at) == total,
            timeout=120,
            what=lambda: f"all {total} acked, have {len(acked_at)}",
        )
        eater.kill()
        assert driver.connected
    assert acked_before < total // 2, "the restart came too late to be under load"
    print(
        f"acked before the stop: {acked_before}, retried pushes: {len(retried)}, "
        f"redelivered: {sum(len(d) > 1 for d in deliveries.values())}"
    )
    for job_id, acked in acked_at.items():
        if acked < stop_began and job_id not in retried:
            assert len(deliveries[job_id]) == 1, f"{job_id} acked before the stop, delivered again"
    assert len(deliveries) == total


def test_setup_refused_by_the_broker_is_a_clear_error(live_rabbit: RabbitMQ) -> None:
    first = pipeline_config(live_rabbit, exchange="ex-typed", exchange_type="direct")
    with driver_for(first, Collector()):
        clash = pipeline_config(live_rabbit, exchange="ex-typed", exchange_type="fanout")
        with pytest.raises(BrokerError, match=r"PRECONDITION_FAILED.*exchange and queue settings"):
            make_amqp_driver(clash, Collector(), None)


def test_a_paused_pipeline_stays_paused_across_a_redial(live_rabbit: RabbitMQ) -> None:
    queue = Collector()
    with driver_for(pipeline_config(live_rabbit), queue) as driver:
        driver.run()
        driver.pause()
        link = driver._link
        assert link is not None
        link.close()  # the connection goes away under the driver
        wait_for(lambda: driver.connected and driver._link is not link, timeout=20)
        driver.push(job(1))
        gevent.sleep(0.5)
        assert queue.items == [] and driver.state().active == 1
        driver.resume()
        assert queue.wait(1)[0].id == "job-1"
        queue.items[0].ack()
