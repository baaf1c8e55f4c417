"""One job of a memory pipeline, as the shared queue and the pollers see it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors.plugins.jobs.driver import Headers
from actors.status.report import encode as go_json

if TYPE_CHECKING:
    from actors.plugins.jobs.drivers.memory.driver import MemoryDriver

__all__ = ["MemoryItem"]


class MemoryItem:
    """Implements :class:`~actors.plugins.jobs.driver.Item`; ack/nack/requeue go back to the
    pipeline's :class:`MemoryDriver`, which owns the counters."""

    __slots__ = ("_driver", "auto_ack", "delay", "headers", "id", "name", "payload", "priority")

    driver = "memory"

    def __init__(
        self,
        owner: MemoryDriver,
        name: str,
        id: str,
        payload: bytes,
        headers: Headers,
        priority: int,
        delay: int = 0,
        auto_ack: bool = False,
    ) -> None:
        self._driver = owner
        self.name = name
        self.id = id
        self.payload = payload
        self.headers = headers
        self.priority = priority
        self.delay = delay
        self.auto_ack = auto_ack

    @property
    def pipeline(self) -> str:
        return self._driver.name

    @property
    def queue(self) -> str:
        """The memory driver's queue is its pipeline (RoadRunner's ``State.Queue``)."""
        return self._driver.name

    def context(self) -> bytes:
        """``{"id", "job", "driver", "queue", "headers", "pipeline"}`` as Go marshals it:
        compact, header names sorted (a Go map), ``<>&`` escaped."""
        return go_json(
            {
                "id": self.id,
                "job": self.name,
                "driver": "memory",
                "queue": self._driver.name,
                "headers": dict(sorted(self.headers.items())),
                "pipeline": self._driver.name,
            }
        )

    def ack(self) -> None:
        self._driver.done(self)

    def nack(self, requeue: bool = False, delay: int = 0) -> None:
        self._driver.done(self)
        if requeue:
            self._driver.again(self, delay)

    def requeue(self, headers: Headers, delay: int = 0) -> None:
        self.headers = {**self.headers, **headers}
        self._driver.done(self)
        self._driver.again(self, delay)
