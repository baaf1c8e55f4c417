"""The ``amqp`` jobs driver (RabbitMQ), wire-compatible with RoadRunner's ``amqpjobs``.

Modules: :mod:`.connection` (pika on the gevent hub), :mod:`.headers` (the ``rr_*`` message
headers), :mod:`.item` (a received job), :mod:`.driver` (one pipeline).  See
``docs/jobs-amqp.md``.
"""

from __future__ import annotations

import logging
from typing import Any

from actors.config.model import AmqpPipelineConfig
from actors.plugins.jobs.driver import Driver, Queue
from actors.plugins.jobs.drivers.amqp.connection import BrokerError, ChannelGone
from actors.plugins.jobs.drivers.amqp.driver import AmqpDriver, delay_queue_name
from actors.plugins.jobs.drivers.amqp.item import AmqpItem, StoppedError

__all__ = [
    "AmqpDriver",
    "AmqpItem",
    "BrokerError",
    "ChannelGone",
    "StoppedError",
    "delay_queue_name",
    "make_amqp_driver",
]


def make_amqp_driver(cfg: AmqpPipelineConfig, queue: Queue, logger: Any) -> Driver:
    """The :data:`~actors.plugins.jobs.driver.DriverFactory` of ``driver: amqp``."""
    log = logger if isinstance(logger, logging.Logger) else None
    return AmqpDriver(cfg, queue, log)
