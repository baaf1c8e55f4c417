"""The ``memory`` driver: jobs kept in this process (RoadRunner's ``memoryjobs``)."""

from actors.plugins.jobs.drivers.memory.driver import MemoryDriver
from actors.plugins.jobs.drivers.memory.item import MemoryItem

__all__ = ["MemoryDriver", "MemoryItem"]
