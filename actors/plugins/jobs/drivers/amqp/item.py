"""One job received from RabbitMQ (upstream ``amqpjobs/item.go``): its fields for the worker
and the way to settle it on the channel it came from."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Protocol

from actors.plugins.jobs.driver import Headers

if TYPE_CHECKING:
    from actors.plugins.jobs.drivers.amqp.connection import Chan

__all__ = ["AmqpItem", "Settler", "StoppedError"]

#: Upstream's error for settling a job of a stopped pipeline.
STOPPED = "failed to acknowledge the JOB, the pipeline is probably stopped"


class StoppedError(RuntimeError):
    """The pipeline was stopped: its connection is closed and the broker already took the
    job back (it will be delivered again)."""


class Settler(Protocol):
    """What an item needs from its driver (the :class:`AmqpDriver`)."""

    @property
    def stopped(self) -> bool: ...

    def settled(self, item: AmqpItem, how: str, on_broker: bool) -> None:
        """Bookkeeping and logging after an ack/nack (``on_broker``: the frame went out)."""
        ...

    def republish(self, item: AmqpItem, headers: Headers, delay: int) -> None:
        """Publish a copy of ``item`` with ``headers`` and ``delay`` (raises on failure)."""
        ...


class AmqpItem:
    """A delivery turned into a job.  Settled once, by the plugin, from a poller greenlet;
    settling on a channel that died meanwhile sends nothing (the broker redelivers)."""

    __slots__ = (
        "_chan",
        "_driver",
        "_on_broker",
        "_settled",
        "auto_ack",
        "delay",
        "delivery_tag",
        "headers",
        "id",
        "multiple_ack",
        "name",
        "payload",
        "pipeline",
        "priority",
        "queue",
        "redelivered",
        "requeue_on_fail",
    )

    driver = "amqp"

    def __init__(
        self,
        *,
        id: str,
        name: str,
        payload: bytes,
        headers: Headers,
        pipeline: str,
        queue: str,
        priority: int,
        auto_ack: bool,
        delay: int,
        chan: Chan,
        delivery_tag: int,
        redelivered: bool,
        settler: Settler,
        multiple_ack: bool = False,
        requeue_on_fail: bool = False,
    ) -> None:
        self.id = id
        self.name = name
        self.payload = payload
        self.headers = headers
        self.pipeline = pipeline
        self.queue = queue
        self.priority = priority
        self.auto_ack = auto_ack
        self.delay = delay
        self.delivery_tag = delivery_tag
        self.redelivered = redelivered
        self.multiple_ack = multiple_ack
        self.requeue_on_fail = requeue_on_fail
        self._chan = chan
        self._driver = settler
        #: How it was settled ("ack", "nack", ...), or "" while pending.
        self._settled = ""
        self._on_broker = False

    @property
    def settled(self) -> str:
        """How the item was settled, or ``""``; tests and logs read it."""
        return self._settled

    @property
    def settled_on_broker(self) -> bool:
        """True when the ack/nack frame went out on a live channel (an auto-ack item was
        acked on receipt); False when its channel had died (the broker redelivers it)."""
        return self._on_broker

    def context(self) -> bytes:
        """Upstream ``Item.Context``: ``{id, job, driver, queue, headers, pipeline}``."""
        return json.dumps(
            {
                "id": self.id,
                "job": self.name,
                "driver": "amqp",
                "queue": self.queue,
                "headers": dict(sorted(self.headers.items())),
                "pipeline": self.pipeline,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()

    # -- settling -----------------------------------------------------------------------
    def _check(self) -> None:
        if self._driver.stopped:
            raise StoppedError(STOPPED)

    def _send(self, how: str, requeue: bool = False) -> None:
        if self._settled:
            return  # settled once already: the counters must not move twice
        if self.auto_ack:  # acked on receipt (upstream stubs ack/nack out)
            self._settled = how
            self._on_broker = True
            self._driver.settled(self, how, on_broker=False)
            return
        what = "ack" if how in ("ack", "requeue") else "nack"
        # Only a plain ack uses ``multiple_ack``; upstream nacks and requeue-acks one message.
        multiple = self.multiple_ack and how == "ack"
        on_broker = self._chan.settle(what, self.delivery_tag, multiple, requeue)
        self._settled = how
        self._on_broker = on_broker
        self._driver.settled(self, how, on_broker)

    def ack(self) -> None:
        """The job is done: ``basic.ack`` (``multiple`` per ``multiple_ack``)."""
        self._check()
        self._send("ack")

    def nack(self, requeue: bool = False, delay: int = 0) -> None:
        """Upstream ``NackWithOptions``: requeue with a delay republishes through the delay
        queue; requeue without one is the broker's own requeue; otherwise the message is
        dropped (or dead-lettered by the queue's ``x-dead-letter-exchange``), unless the
        pipeline has ``requeue_on_fail``."""
        self._check()
        if requeue and delay > 0:
            self.requeue({}, delay)
            return
        back = requeue or self.requeue_on_fail
        self._send("nack-requeue" if back else "nack", requeue=back)

    def requeue(self, headers: Headers, delay: int = 0) -> None:
        """Publish a copy with ``headers`` merged and the new delay, then ack this one.
        If the copy cannot be published, this one is nacked back to the queue and the
        error raised."""
        self._check()
        merged = dict(self.headers)
        merged.update(headers or {})
        try:
            self._driver.republish(self, merged, delay)
        except Exception:
            self._send("nack-requeue", requeue=True)
            raise
        self.headers = merged
        self._send("requeue")
