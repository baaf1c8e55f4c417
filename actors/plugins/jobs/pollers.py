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
        if item.auto_ack:
            _settle(item.ack, item, _ACK_FAILED)
        try:
            payload = Payload(item.payload, item.context(), CODEC_RAW)
        except Exception as exc:  # a driver's context that cannot be built: RoadRunner nacks
            self._failed(item, "job marshal error", exc, started)
            return
        try:
            stream = self.pool().stream(payload)
            first = next(stream)
            if not stream.done:
                stream.cancel()
                raise PoolError("jobs: a streamed answer is not supported, answer with one frame")
        except (PoolError, Cancelled) as exc:
            self._failed(item, "job processed with errors", exc, started)
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
                extra={
                    "fields": {**_fields(item), "error": str(exc), "response": first.body[:256]}
                },
            )
            _settle(item.ack, item, _ACK_FAILED)
            return
        except Exception as exc:
            self.metrics.jobs_err += 1
            log.error(
                "acknowledge error, job might be missed",
                extra={"fields": {**_fields(item), "error": str(exc)}},
            )
            return
        self.metrics.jobs_ok += 1
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "job was processed successfully",
                extra={"fields": {**_fields(item), "elapsed": _since(started)}},
            )

    def _failed(self, item: Item, message: str, exc: BaseException, started: float) -> None:
        """The job did not get an answer: count it, log it, nack it (unless auto-acked)."""
        self.metrics.jobs_err += 1
        log.error(
            message,
            extra={"fields": {**_fields(item), "error": str(exc), "elapsed": _since(started)}},
        )
        if not item.auto_ack:
            _settle(item.nack, item, _NACK_FAILED)


def _fields(item: Item) -> dict[str, Any]:
    """What a log line says about a job."""
    return {"ID": item.id, "pipeline": item.pipeline, "driver": item.driver}


def _settle(action: Callable[[], None], item: Item, failure: str) -> None:
    """Ack or nack, logging a driver failure (``failure``) instead of killing the poller."""
    try:
        action()
    except Exception as exc:
        log.error(failure, extra={"fields": {**_fields(item), "error": str(exc)}})


_ACK_FAILED = "acknowledge failed, job might be lost"
_NACK_FAILED = "negatively acknowledge failed"


def _since(started: float) -> str:
    return f"{(time.monotonic() - started) * 1000:.3f}ms"
