"""The memory driver: one pipeline's jobs held in this process.

RoadRunner's ``memoryjobs`` driver: pushed jobs wait in the pipeline's own FIFO; while the
pipeline is consumed, a feeder greenlet moves them into the plugin's shared priority queue,
keeping at most ``prefetch`` of them there or running (in flight).  A delayed job waits on a
gevent timer first (at most 1,000 at once, RoadRunner's limit).  Nothing survives a stop:
queued jobs are dropped and counted in the log, as upstream does.

The driver is the one owner of its counters; every method runs on the hub and none blocks
except through gevent.
"""

from __future__ import annotations

import collections
import logging
from typing import Any

import gevent
import gevent.event

from actors.config.model import MemoryPipelineConfig
from actors.plugins.jobs.driver import Job, PipelineState, Queue
from actors.plugins.jobs.drivers.memory.item import MemoryItem
from actors.plugins.jobs.errors import JobsError, wrap

__all__ = ["MAX_DELAYED", "MemoryDriver"]

#: RoadRunner's cap on jobs waiting for their delay (``goroutinesMax``).
MAX_DELAYED = 1000


class MemoryDriver:
    """Implements :class:`~actors.plugins.jobs.driver.Driver` for ``driver: memory``."""

    def __init__(self, cfg: MemoryPipelineConfig, queue: Queue, logger: Any = None) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self._queue = queue
        self._log: logging.Logger = logger or logging.getLogger("greenrunner.jobs")
        self._local: collections.deque[MemoryItem] = collections.deque()
        self._timers: set[gevent.Greenlet[Any, Any]] = set()
        self._in_flight = 0
        self._wake = gevent.event.Event()
        self._feeder: gevent.Greenlet[Any, Any] | None = None
        self._stopped = False

    # -- producer side ------------------------------------------------------------------------

    def push(self, job: Job) -> None:
        """Keep ``job`` (after its delay, if any) until the pipeline is consumed."""
        if self._stopped:
            raise wrap("in_memory_push", f"no such pipeline: {self.name}")
        item = MemoryItem(
            self,
            job.name,
            job.id,
            job.payload,
            dict(job.headers),
            job.options.priority,
            job.options.delay,
            job.options.auto_ack,
        )
        try:
            self._accept(item, job.options.delay)
        except JobsError as exc:
            raise wrap("in_memory_push", exc) from None

    def _accept(self, item: MemoryItem, delay: int) -> None:
        if delay > 0:
            if len(self._timers) >= MAX_DELAYED:
                raise wrap("in_memory_handle_request", "max concurrency number reached")
            timer = gevent.spawn_later(delay, self._delay_over, item)
            self._timers.add(timer)
            return
        self._local.append(item)
        self._wake.set()

    def _delay_over(self, item: MemoryItem) -> None:
        self._timers.discard(gevent.getcurrent())
        if not self._stopped:
            self._local.append(item)
            self._wake.set()

    # -- consumer side ------------------------------------------------------------------------

    def run(self) -> None:
        """Start feeding the shared queue; an error if it already does (RoadRunner's text)."""
        if self._feeder is not None:
            raise JobsError("listener already in the active state")
        self._start_feeder()

    def pause(self) -> None:
        """Stop feeding; jobs already in the shared queue still run."""
        if self._feeder is None:
            raise JobsError("no active listeners, nothing to pause")
        self._feeder = None
        self._wake.set()

    def resume(self) -> None:
        """Feed again after :meth:`pause`."""
        if self._feeder is not None:
            raise JobsError("memory listener is already in the active state")
        self._start_feeder()

    def _start_feeder(self) -> None:
        self._feeder = gevent.spawn(self._feed)
        self._wake.set()

    def _feed(self) -> None:
        """Move jobs into the shared queue while consumed, ``prefetch`` at most in flight."""
        me = gevent.getcurrent()
        wait_room = getattr(self._queue, "wait_room", None)
        while self._feeder is me:
            if not self._local or self._in_flight >= self.cfg.prefetch:
                self._wake.clear()
                self._wake.wait()
                continue
            if wait_room is not None and not wait_room(1.0):
                continue  # the shared queue is full (jobs.pipeline_size): try again
            if self._feeder is not me or not self._local:
                continue
            item = self._local.popleft()
            if not item.priority:
                item.priority = self.cfg.priority
            self._in_flight += 1
            self._queue.insert(item)

    # -- called by items ----------------------------------------------------------------------

    def done(self, item: MemoryItem) -> None:
        """``item`` was acked, nacked or requeued: one less in flight."""
        self._in_flight -= 1
        self._wake.set()

    def again(self, item: MemoryItem, delay: int) -> None:
        """Put ``item`` back (nack with requeue, requeue), after ``delay`` seconds."""
        if self._stopped:
            return
        item.delay = delay
        self._accept(item, delay)

    # -- lifecycle ----------------------------------------------------------------------------

    def stop(self, timeout: float) -> None:
        """Stop feeding and drop what is still queued or delayed (logged with a count)."""
        self._stopped = True
        self._feeder = None
        self._wake.set()
        dropped = len(self._local) + len(self._timers)
        self._local.clear()
        timers, self._timers = self._timers, set()
        gevent.killall(list(timers), block=False)
        if dropped:
            self._log.warning(
                "memory pipeline stopped: queued jobs were dropped",
                extra={"fields": {"pipeline": self.name, "dropped": dropped}},
            )

    def state(self) -> PipelineState:
        """Active: waiting in the pipeline or in flight; delayed: waiting for their delay."""
        return PipelineState(
            pipeline=self.name,
            driver="memory",
            queue=self.name,
            priority=self.cfg.priority,
            active=len(self._local) + self._in_flight,
            delayed=len(self._timers),
            reserved=0,
            ready=self._feeder is not None,
        )
