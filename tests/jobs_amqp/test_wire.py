"""RoadRunner's message layout both ways: what a RoadRunner instance publishes is consumed
with the right fields, and what Greenrunner publishes carries RoadRunner's ``rr_*`` headers."""

from __future__ import annotations

import json
import logging

import pytest

from actors.plugins.jobs.drivers.amqp import delay_queue_name
from actors.plugins.jobs.drivers.amqp.headers import AUTO_JOB, pack, unpack
from tests.jobs_amqp.harness import Collector, Peer, driver_for, job, pipeline_config
from tests.support.rabbitmq import RabbitMQ

log = logging.getLogger("tests.jobs_amqp")


def test_pack_is_upstreams_table() -> None:
    table = pack(
        id="1",
        job="App\\Task",
        pipeline="p",
        headers={"b": ["2"], "a": ["1"]},
        delay=3,
        priority=7,
        auto_ack=True,
    )
    assert table == {
        "rr_id": "1",
        "rr_job": "App\\Task",
        "rr_pipeline": "p",
        # Go's json.Marshal of a map: keys sorted, compact, bytes on the wire (type 'x')
        "rr_headers": b'{"a":["1"],"b":["2"]}',
        "rr_delay": 3,
        "rr_priority": 7,
        "rr_auto_ack": True,
    }


def test_unpack_converts_foreign_headers_like_upstream() -> None:
    fields = unpack(
        {
            "n": 5,
            "f": 1.5,
            "ok": True,
            "s": b"raw",
            "l": ["a", 1],
            "rr_headers": b'{"n":["overridden"]}',
        },
        log,
    )
    assert fields.headers == {
        "n": ["overridden"],
        "f": ["1.50000"],
        "ok": ["true"],
        "s": ["raw"],
        "l": ["a", "1"],
    }
    assert fields.job == AUTO_JOB and fields.id and fields.priority is None


def test_delay_queue_name_is_upstreams() -> None:
    assert delay_queue_name(5000, "amqp.default", "q") == "delayed-5000.amqp.default.q"


def test_roadrunner_message_is_consumed(live_rabbit: RabbitMQ, peer: Peer) -> None:
    cfg = pipeline_config(live_rabbit, priority=4)
    queue = Collector()
    with driver_for(cfg, queue) as driver:
        driver.run()
        # exactly what amqpjobs' pack + amqp091-go put on the wire (rr_delay a Go int: 'I')
        peer.publish(
            cfg.exchange,
            cfg.routing_key,
            b'{"task":1}',
            {
                "rr_id": "rr-1",
                "rr_job": "App\\Jobs\\Mail",
                "rr_pipeline": cfg.name,
                "rr_headers": b'{"attempt":["2"],"x":["a","b"]}',
                "rr_delay": 0,
                "rr_priority": 3,
                "rr_auto_ack": False,
                "traceparent": "00-abc",
            },
            content_type="application/octet-stream",
            delivery_mode=2,
        )
        item = queue.wait(1)[0]
        assert (item.id, item.name, item.pipeline, item.priority, item.payload) == (
            "rr-1",
            "App\\Jobs\\Mail",
            cfg.name,
            3,
            b'{"task":1}',
        )
        assert item.headers == {"attempt": ["2"], "x": ["a", "b"], "traceparent": ["00-abc"]}
        assert json.loads(item.context()) == {
            "id": "rr-1",
            "job": "App\\Jobs\\Mail",
            "driver": "amqp",
            "queue": cfg.queue,
            "headers": {"attempt": ["2"], "traceparent": ["00-abc"], "x": ["a", "b"]},
            "pipeline": cfg.name,
        }
        assert list(json.loads(item.context())) == [
            "id",
            "job",
            "driver",
            "queue",
            "headers",
            "pipeline",
        ]
        item.ack()
        # a message from some other program: a new id, the deduced job name, the pipeline's
        # priority
        peer.publish(cfg.exchange, cfg.routing_key, b"plain", {"k": "v"})
        other = queue.wait(2)[1]
        assert other.name == AUTO_JOB and other.id and other.priority == 4
        assert other.headers == {"k": ["v"]} and other.payload == b"plain"
        other.ack()
    assert peer.declare(cfg.queue, passive=True) == 0


def test_pushed_message_carries_roadrunner_headers(live_rabbit: RabbitMQ, peer: Peer) -> None:
    cfg = pipeline_config(live_rabbit, priority=9)
    with driver_for(cfg, Collector()) as driver:
        driver.push(job(1, headers={"h": ["1", "2"]}, priority=2, auto_ack=True))
        driver.push(job(2, headers={}))
    got = peer.get(cfg.queue)
    assert got is not None
    _, props, body = got
    assert body == b'{"n":"1"}'
    assert props.content_type == "application/octet-stream" and props.delivery_mode == 2
    assert props.headers == {
        "rr_id": "job-1",
        "rr_job": "Task",
        "rr_pipeline": cfg.name,
        "rr_headers": b'{"h":["1","2"]}',
        "rr_delay": 0,
        "rr_priority": 2,
        "rr_auto_ack": True,
    }
    second = peer.get(cfg.queue)
    assert second is not None
    # a job's priority 0 means the pipeline's
    assert second[1].headers["rr_priority"] == 9 and second[1].headers["rr_headers"] == b"{}"


@pytest.mark.parametrize("exchange_type", ["fanout"])
def test_fanout_needs_no_routing_key(live_rabbit: RabbitMQ, exchange_type: str) -> None:
    cfg = pipeline_config(
        live_rabbit, routing_key="", exchange=f"fx-{exchange_type}", exchange_type=exchange_type
    )
    queue = Collector()
    with driver_for(cfg, queue) as driver:
        driver.run()
        driver.push(job(1))
        assert queue.wait(1)[0].id == "job-1"
        queue.items[0].ack()


def test_push_without_routing_key_is_upstreams_error(live_rabbit: RabbitMQ) -> None:
    cfg = pipeline_config(live_rabbit, routing_key="")
    with (
        driver_for(cfg, Collector()) as driver,
        pytest.raises(ValueError, match="empty routing key"),
    ):
        driver.push(job(1))


def test_delay_queue_declared_by_roadrunner_is_shared(live_rabbit: RabbitMQ, peer: Peer) -> None:
    """A RoadRunner instance declared the delay queue first (amqp091-go writes the int64
    arguments as 'l'): Greenrunner's declare must be equivalent, or the broker refuses it."""
    cfg = pipeline_config(live_rabbit)
    name = delay_queue_name(1000, cfg.exchange, cfg.queue)
    queue = Collector()
    with driver_for(cfg, queue) as driver:
        peer.declare(
            name,
            durable=True,
            arguments={
                "x-dead-letter-exchange": cfg.exchange,
                "x-dead-letter-routing-key": cfg.routing_key,
                "x-message-ttl": 1000,
                "x-expires": 2000,
            },
        )
        driver.run()
        driver.push(job(1, delay=1))
        item = queue.wait(1, timeout=10)[0]
        assert item.id == "job-1" and item.delay == 1
        item.ack()
