"""The contract between the jobs plugin and its drivers (memory, amqp, ...).

RoadRunner's ``jobs.Driver`` and ``jobs.Acknowledger`` (``roadrunner-server/api``): a driver
owns one pipeline's broker side.  It accepts pushed jobs, and it puts the jobs it receives into
the plugin's one priority :class:`Queue`, as :class:`Item` objects that know how to ack, nack and
requeue themselves on that broker.  The plugin's pollers take items off the queue, run them on
the pool, and call the item's methods with the worker's answer.

Everything here runs on the gevent hub: a driver must never block it (no blocking client
library, no ``time.sleep``); broker I/O happens in the driver's own greenlets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "Driver",
    "DriverFactory",
    "Item",
    "Job",
    "JobOptions",
    "PipelineState",
    "Queue",
]

#: Headers as RoadRunner carries them: every value a list of strings.
Headers = dict[str, list[str]]


@dataclass(slots=True)
class JobOptions:
    """``jobs.v1.Options``: how a pushed job is to be run."""

    #: Lower runs first; 0 means "the pipeline's priority".
    priority: int = 0
    #: The pipeline the job goes to.
    pipeline: str = ""
    #: Seconds to wait before the job may run.
    delay: int = 0
    #: Ack on receipt, before the worker runs it (no redelivery on failure).
    auto_ack: bool = False
    #: Kafka-only fields, carried for wire compatibility.
    topic: str = ""
    metadata: str = ""
    offset: int = 0
    partition: int = 0


@dataclass(slots=True)
class Job:
    """``jobs.v1.Job``: what a producer pushes (``jobs.Push`` / ``PushBatch``)."""

    #: The job's name (PHP: the task class), ``job`` in the worker's context.
    name: str
    #: Unique id (the producer makes one; the plugin makes one when it is empty).
    id: str
    payload: bytes
    headers: Headers = field(default_factory=dict)
    options: JobOptions = field(default_factory=JobOptions)


@dataclass(slots=True)
class PipelineState:
    """``jobs.v1.Stat``: one pipeline as ``jobs.Stat``, ``informer.Jobs`` and ``/jobs`` show it."""

    pipeline: str
    driver: str
    queue: str
    priority: int = 0
    #: Jobs waiting in the broker (or the memory queue) to be delivered.
    active: int = 0
    #: Jobs waiting for their delay to pass.
    delayed: int = 0
    #: Jobs delivered and not yet acked or nacked.
    reserved: int = 0
    #: False while paused.
    ready: bool = True
    error_message: str = ""


class Item(Protocol):
    """One received job in the shared priority queue (RoadRunner's ``jobs.Job`` + ``Acknowledger``).

    ``ack``/``nack``/``requeue`` are called exactly once per item by the plugin, from a poller
    greenlet, after the worker answered (or failed).  They may do broker I/O but must not block
    the hub; they raise :class:`actors.errors.PoolError`-free plain exceptions on failure, which
    the plugin logs with the job id.
    """

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def headers(self) -> Headers: ...
    @property
    def pipeline(self) -> str: ...
    @property
    def driver(self) -> str: ...
    @property
    def queue(self) -> str: ...
    @property
    def priority(self) -> int: ...
    @property
    def auto_ack(self) -> bool: ...

    def context(self) -> bytes:
        """The JSON context the worker receives: ``{id, job, driver, queue, headers, pipeline}``
        (plus driver-specific keys), in RoadRunner's key order."""
        ...

    def ack(self) -> None:
        """The job is done: remove it from the broker."""
        ...

    def nack(self, requeue: bool = False, delay: int = 0) -> None:
        """The job failed: drop it (or dead-letter it, per the driver), or put it back after
        ``delay`` seconds when ``requeue``."""
        ...

    def requeue(self, headers: Headers, delay: int = 0) -> None:
        """Put the job back after ``delay`` seconds with ``headers`` merged into its own."""
        ...


class Queue(Protocol):
    """The plugin's one priority queue, shared by all pipelines (lower priority runs first)."""

    def insert(self, item: Item) -> None:
        """Add a received item; never blocks (bounded by ``jobs.pipeline_size`` upstream)."""
        ...


class Driver(Protocol):
    """One pipeline's broker side.  Created by a :data:`DriverFactory`, driven by the plugin."""

    def push(self, job: Job) -> None:
        """Send ``job`` to the broker (or the memory queue); raise with RoadRunner's message on
        failure.  Called from RPC greenlets."""
        ...

    def run(self) -> None:
        """Start consuming: received jobs go to the shared :class:`Queue` (only for pipelines
        listed in ``jobs.consume`` or started by ``jobs.Resume``)."""
        ...

    def pause(self) -> None:
        """Stop delivering new jobs to the queue (jobs in flight finish)."""
        ...

    def resume(self) -> None:
        """Deliver again after :meth:`pause`."""
        ...

    def stop(self, timeout: float) -> None:
        """Stop consuming and close broker connections; unacked jobs go back to the broker."""
        ...

    def state(self) -> PipelineState:
        """The pipeline's counters now."""
        ...


#: ``factory(pipeline_config, queue, logger)`` builds one pipeline's driver.  The config is the
#: driver's own dataclass from ``actors/config/model.py``.
DriverFactory = Callable[[Any, Queue, Any], Driver]
