"""The ``amqp`` section and ``driver: amqp`` pipelines: upstream's defaults, both nestings,
errors that name the key."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from actors.config.model import AmqpConfig
from actors.config.schema.amqp import AmqpPipelineSchema, AmqpSchema


def test_defaults_are_upstreams_init_default() -> None:
    cfg = AmqpPipelineSchema("emails").load({"driver": "amqp"})
    assert (cfg.name, cfg.driver, cfg.addr) == (
        "emails",
        "amqp",
        "amqp://guest:guest@127.0.0.1:5672/",
    )
    assert (cfg.exchange, cfg.exchange_type, cfg.prefetch, cfg.priority, cfg.redial_timeout) == (
        "amqp.default",
        "direct",
        10,
        10,
        60,
    )
    assert cfg.queue == "" and cfg.routing_key == "" and cfg.queue_headers == {}
    assert not (cfg.durable or cfg.exclusive or cfg.multiple_ack or cfg.requeue_on_fail)
    assert cfg.consumer_id.startswith("roadrunner-") and len(cfg.consumer_id) == 47
    # zero means the default, as upstream's InitDefault
    zero = AmqpPipelineSchema("p").load(
        {"prefetch": 0, "priority": 0, "redial_timeout": 0, "exchange": "", "exchange_type": ""}
    )
    assert (
        zero.prefetch,
        zero.priority,
        zero.redial_timeout,
        zero.exchange,
        zero.exchange_type,
    ) == (10, 10, 60, "amqp.default", "direct")


def test_keys_under_config_or_at_the_top_level() -> None:
    top = AmqpPipelineSchema("p").load({"driver": "amqp", "queue": "a", "prefetch": "20"})
    nested = AmqpPipelineSchema("p").load(
        {"driver": "amqp", "priority": 3, "config": {"queue": "a", "prefetch": 20}}
    )
    assert (top.queue, top.prefetch) == (nested.queue, nested.prefetch) == ("a", 20)
    assert nested.priority == 3


def test_global_addr_is_the_default_and_a_pipeline_may_override_it() -> None:
    broker = AmqpSchema().load({"addr": "amqp://u:p@10.0.0.1:5672/vh"})
    assert broker == AmqpConfig(addr="amqp://u:p@10.0.0.1:5672/vh")
    assert AmqpPipelineSchema("p", broker).load({}).addr == broker.addr
    own = AmqpPipelineSchema("p", broker).load({"addr": "amqp://guest:guest@other:5672/"})
    assert own.addr == "amqp://guest:guest@other:5672/"
    assert AmqpSchema().load({}).addr == "amqp://guest:guest@127.0.0.1:5672/"


def test_queue_headers_as_map_or_json_string() -> None:
    as_map = AmqpPipelineSchema("p").load({"queue_headers": {"x-max-priority": 10}})
    as_json = AmqpPipelineSchema("p").load({"queue_headers": '{"x-max-priority": 10}'})
    assert as_map.queue_headers == as_json.queue_headers == {"x-max-priority": 10}


@pytest.mark.parametrize(
    ("settings", "key", "text"),
    [
        ({"prefetc": 5}, "prefetc", "did you mean 'prefetch'"),
        ({"exchange_type": "fan"}, "exchange_type", "did you mean 'fanout'"),
        ({"addr": "amqps://h:5671/"}, "addr", "TLS) is not supported"),
        ({"addr": "http://h"}, "addr", "expected a broker URL"),
        ({"prefetch": -1}, "prefetch", "must not be negative"),
        ({"durable": "yes please"}, "durable", "expected a boolean"),
        ({"queue_headers": "{nope"}, "queue_headers", "JSON object"),
        ({"driver": "memory"}, "driver", "expected one of amqp"),
    ],
)
def test_errors_name_the_key(settings: dict[str, object], key: str, text: str) -> None:
    with pytest.raises(ValidationError) as err:
        AmqpPipelineSchema("p").load(settings)
    assert key in err.value.messages
    assert text in " ".join(err.value.messages[key])  # type: ignore[call-overload,index]
