"""The pollers: greenlets that take jobs off the shared queue and run them on the pool.

RoadRunner's ``listener.go``: ``num_pollers`` loops, each taking the lowest-priority job,
sending it to a worker (flags ``CODEC_RAW``, context = the job's JSON, body = its payload)
and acking, nacking or requeueing it from the answer (:mod:`actors.plugins.jobs.protocol`).
A worker error, a pool error or a streamed answer nacks the job; an answer that is not the
protocol acks it (RoadRunner's guard against endless redelivery of a poison job).

Each poller runs one job at a time in its own greenlet: no actor inbox is on this path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import gevent

from actors.errors import PoolError
from actors.freelist import Cancelled
from actors.plugins.jobs.driver import Item
from actors.plugins.jobs.metrics import JobsMetrics
from actors.plugins.jobs.protocol import AnswerError, apply_answer
from actors.plugins.jobs.queue import PriorityQueue, QueueClosed
from relays.frame import CODEC_RAW
from relays.payload import Payload

__all__ = ["Pollers"]

log = logging.getLogger("greenrunner.jobs")


class Pollers:
    """``count`` greenlets draining ``queue`` into the pool that ``pool()`` returns."""

    def __init__(
        self,
        queue: PriorityQueue,
        pool: Callable[[], Any],
        metrics: JobsMetrics,
        count: int,
    ) -> None:
        self.queue = queue
        self.pool = pool
        self.metrics = metrics
        self.count = count
        self._greenlets: list[gevent.Greenlet[Any, Any]] = []
        #: Jobs being run right now (a worker has them, or they wait for one).
        self.running = 0

    def start(self) -> None:
        """Spawn the pollers (once)."""
        if not self._greenlets:
            self._greenlets = [gevent.spawn(self._poll) for _ in range(self.count)]

    def stop(self, timeout: float) -> int:
        """Close the queue and let the jobs in flight finish within ``timeout`` seconds;
        returns how many were still running when the time was up (they were killed)."""
        self.queue.close()
        greenlets, self._greenlets = self._greenlets, []
        done = gevent.joinall(greenlets, timeout=timeout)
        left = len(greenlets) - len(done)
        if left:
            gevent.killall(greenlets, block=True, timeout=1)
        return left

    def _poll(self) -> None:
        while True:
            try:
                item = self.queue.extract()
            except QueueClosed:
                return
            if item is None:
                continue
            self.running += 1
            try:
                self.run(item)
            except Exception:
                log.exception("job poller failed", extra={"fields": {"ID": item.id}})
            finally:
                self.running -= 1

    def run(self, item: Item) -> None:
        """One job: to a worker, then ack/nack/requeue from its answer."""
        started = time.monotonic()
        fields = {"ID": item.id, "pipeline": item.pipeline, "driver": item.driver}
        if item.auto_ack:
            _settle(item.ack, fields)
        try:
            payload = Payload(item.payload, item.context(), CODEC_RAW)
            stream = self.pool().stream(payload)
            first = next(stream)
            if not stream.done:
                stream.cancel()
                raise PoolError("jobs: a streamed answer is not supported, answer with one frame")
        except (PoolError, Cancelled) as exc:
            self.metrics.jobs_err += 1
            log.error(
                "job processed with errors",
                extra={"fields": {**fields, "error": str(exc), "elapsed": _since(started)}},
            )
            if not item.auto_ack:
                _settle(item.nack, fields)
            return
        if item.auto_ack:
            self.metrics.jobs_ok += 1
            return
        try:
            apply_answer(item, first.body)
        except AnswerError as exc:
            self.metrics.jobs_err += 1
            log.error(
                "response handler error: job acknowledged, but contains error",
                extra={"fields": {**fields, "error": str(exc), "response": first.body[:256]}},
            )
            _settle(item.ack, fields)
            return
        except Exception as exc:
            self.metrics.jobs_err += 1
            log.error(
                "acknowledge error, job might be missed",
                extra={"fields": {**fields, "error": str(exc)}},
            )
            return
        self.metrics.jobs_ok += 1
        log.debug(
            "job was processed successfully",
            extra={"fields": {**fields, "elapsed": _since(started)}},
        )


def _settle(action: Callable[[], None], fields: dict[str, Any]) -> None:
    """Ack or nack, logging a driver failure instead of killing the poller."""
    try:
        action()
    except Exception as exc:
        log.error(
            "negatively acknowledge failed"
            if "nack" in getattr(action, "__name__", "")
            else "acknowledge failed, job might be lost",
            extra={"fields": {**fields, "error": str(exc)}},
        )


def _since(started: float) -> str:
    return f"{(time.monotonic() - started) * 1000:.3f}ms"
