"""``amqp`` (the broker address) and ``jobs.pipelines.<name>`` with ``driver: amqp``.

RoadRunner's ``amqpjobs/config.go``: the top-level ``amqp.addr`` is the broker, the pipeline
holds the rest (at the pipeline's top level or under ``config:``, as RoadRunner accepts
both).  Defaults are upstream's ``InitDefault``.  Greenrunner also reads ``addr`` in the
pipeline (one process talking to two brokers); upstream reads it only at the top level.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, ClassVar

from marshmallow import ValidationError, post_load, pre_load

from actors.config.errors import describe
from actors.config.model import DEFAULT_AMQP_ADDR, AmqpConfig, AmqpPipelineConfig
from actors.config.schema.base import SectionSchema
from actors.config.schema.fields import BaseField, Bool, Choice, Int, Str
from actors.config.schema.paths import state

__all__ = ["EXCHANGE_TYPES", "AmqpPipelineSchema", "AmqpSchema"]

#: The exchange kinds RabbitMQ declares (``exchange_type``).
EXCHANGE_TYPES = ("direct", "fanout", "topic", "headers")


#: Keys whose empty string means the default (upstream ``InitDefault`` tests for "").
_EMPTY_IS_DEFAULT = ("addr", "exchange", "exchange_type", "consumer_id")


class AmqpAddr(BaseField):
    """``amqp://user:password@host:port/vhost``; TLS (``amqps://``) is not supported yet."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, str) and not value.strip():
            return ""  # the default, as upstream's InitDefault
        if not isinstance(value, str):
            raise ValidationError(
                f"expected a broker URL like {DEFAULT_AMQP_ADDR}, got {describe(value)}"
            )
        text = value.strip()
        if text.startswith("amqps://"):
            raise ValidationError(
                "amqps:// (TLS) is not supported by Greenrunner yet: use amqp:// "
                "(a TLS-terminating proxy can sit in front of the broker)"
            )
        if not text.startswith("amqp://"):
            raise ValidationError(f"expected a broker URL like {DEFAULT_AMQP_ADDR}, got {text!r}")
        return text


class QueueHeaders(BaseField):
    """``queue_headers``: the queue's declare arguments, a map or (as upstream's
    ``FromPipeline`` reads it) a JSON object in a string."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> dict[str, Any]:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise ValidationError(f"expected a map or a JSON object, got {value!r}") from exc
        if not isinstance(value, dict):
            raise ValidationError(
                f"expected a map of queue arguments (x-max-priority: 10), got {describe(value)}"
            )
        return {str(k): v for k, v in value.items()}


class AmqpSchema(SectionSchema):
    """The top-level ``amqp`` section: ``addr`` (``tls`` is not supported yet)."""

    IGNORED = ("tls",)
    IGNORED_WHY = "(TLS to the broker) is not supported by Greenrunner yet and is ignored"

    addr = AmqpAddr()

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> AmqpConfig:
        config = AmqpConfig(addr=data.get("addr") or DEFAULT_AMQP_ADDR)
        state().amqp = config  # the defaults of the amqp pipelines loaded after this section
        return config


class AmqpPipelineSchema(SectionSchema):
    """One ``amqp`` pipeline; its name is its key under ``jobs.pipelines``.

    ``defaults`` is the top-level ``amqp`` section (its ``addr`` is used unless the
    pipeline has its own).
    """

    #: Driver-independent pipeline keys RoadRunner also accepts here.
    IGNORED: ClassVar[tuple[str, ...]] = ("tls",)
    IGNORED_WHY = "(TLS to the broker) is not supported by Greenrunner yet and is ignored"

    driver = Choice(("amqp",))
    addr = AmqpAddr()
    priority = Int(minimum=None, zero=10)
    prefetch = Int(zero=10)
    queue = Str()
    exchange = Str()
    exchange_type = Choice(EXCHANGE_TYPES)
    routing_key = Str()
    consume_all = Bool()
    exclusive = Bool()
    durable = Bool()
    delete_queue_on_stop = Bool()
    multiple_ack = Bool()
    requeue_on_fail = Bool()
    exchange_durable = Bool()
    exchange_auto_delete = Bool()
    queue_auto_delete = Bool()
    redial_timeout = Int(zero=60)
    queue_headers = QueueHeaders()
    consumer_id = Str()

    def __init__(self, name: str = "", defaults: AmqpConfig | None = None) -> None:
        super().__init__()
        self.pipeline_name = name
        #: Without explicit defaults: the file's top-level ``amqp`` section, if it has one.
        self.defaults = defaults or state().amqp or AmqpConfig()

    @pre_load
    def _check_keys(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """``config:`` (RoadRunner 2023+) and the pipeline's top level are one set of keys;
        a key under ``config:`` wins, as it is the newer spelling."""
        if not isinstance(data, dict):
            raise ValidationError(f"expected a map of pipeline settings, got {describe(data)}")
        nested = data.get("config")
        if nested is not None and not isinstance(nested, dict):
            raise ValidationError({"config": [f"expected a map, got {describe(nested)}"]})
        flat = {k: v for k, v in data.items() if k != "config"}
        flat.update(nested or {})
        # An empty string is "the default" for these, as in upstream's InitDefault.
        for key in _EMPTY_IS_DEFAULT:
            if flat.get(key) == "":
                del flat[key]
        return super()._check_keys(flat, **kwargs)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> AmqpPipelineConfig:
        data.setdefault("exchange", "amqp.default")
        data.setdefault("exchange_type", "direct")
        data["addr"] = data.get("addr") or self.defaults.addr
        if not data.get("consumer_id"):
            data["consumer_id"] = f"roadrunner-{uuid.uuid4()}"
        data.pop("driver", None)
        return AmqpPipelineConfig(name=self.pipeline_name, driver="amqp", **data)
