"""Driver factories by the ``driver:`` name of a pipeline."""

from __future__ import annotations

from actors.plugins.jobs.driver import DriverFactory
from actors.plugins.jobs.drivers.amqp import make_amqp_driver
from actors.plugins.jobs.drivers.memory import MemoryDriver

__all__ = ["DRIVERS"]

DRIVERS: dict[str, DriverFactory] = {"memory": MemoryDriver, "amqp": make_amqp_driver}
