"""The jobs SDK: consume jobs in a worker, push them from anywhere (``spiral/roadrunner-jobs``).

A consumer (a worker of the ``jobs`` pool)::

    from relays.jobs import Consumer

    for task in Consumer():
        try:
            handle(task.name, task.payload, task.headers)
            task.ack()
        except Exception as exc:
            task.nack(str(exc), requeue=True, delay=5)

A producer (any process that reaches the RPC port)::

    from relays.jobs import Jobs
    from relays.rpc import RPC

    queue = Jobs(RPC.create()).connect("emails")
    queue.push("SendEmail", b'{"to": "a@b.c"}', delay=10, headers={"attempt": ["1"]})

Standard library only, like every module at the top of ``relays/``.  The wire is
RoadRunner's: the worker answers ``{"type": 2, "data": {}}`` (ack), type 3 (nack), type 4
(requeue); the producer sends ``jobs.v1`` protobuf messages (:mod:`relays.jobs_proto`).
"""

from __future__ import annotations

import builtins
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from relays import jobs_proto
from relays.payload import Payload
from relays.rpc import CODEC_PROTO, RPC
from relays.worker import Worker

__all__ = ["Consumer", "Jobs", "Queue", "Task", "TaskError"]

Headers = dict[str, list[str]]

ACK, NACK, REQUEUE = 2, 3, 4


class TaskError(RuntimeError):
    """A task was answered twice, or its context is not a jobs context."""


class Task:
    """One received job.  Answer it once: :meth:`ack`, :meth:`nack` or :meth:`requeue`."""

    def __init__(self, worker: Worker, context: Mapping[str, Any], payload: bytes) -> None:
        self._worker = worker
        self.id: str = str(context.get("id", ""))
        self.name: str = str(context.get("job", ""))
        self.pipeline: str = str(context.get("pipeline", ""))
        self.driver: str = str(context.get("driver", ""))
        #: PHP falls back to "unknown" when the driver sends no queue.
        self.queue: str = str(context.get("queue") or "unknown")
        self.headers: Headers = {
            str(k): [str(x) for x in v] if isinstance(v, list) else [str(v)]
            for k, v in (context.get("headers") or {}).items()
        }
        self.payload = payload
        self.answered = False

    def header(self, name: str) -> str:
        """The first value of header ``name`` ("" when absent)."""
        values = self.headers.get(name) or [""]
        return values[0]

    def _answer(self, kind: int, data: Mapping[str, Any]) -> None:
        if self.answered:
            raise TaskError(f"task {self.id} was already answered: answer a task once")
        self.answered = True
        body = json.dumps({"type": kind, "data": dict(data)}, separators=(",", ":"))
        self._worker.respond(Payload(body.encode("utf-8"), b""))

    def ack(self) -> None:
        """The job is done: the broker forgets it."""
        self._answer(ACK, {})

    def nack(self, message: str = "", *, requeue: bool = False, delay: int = 0) -> None:
        """The job failed: dropped, or back in its pipeline after ``delay`` seconds."""
        self._answer(NACK, {"message": message, "requeue": requeue, "delay_seconds": delay})

    def requeue(self, message: str = "", *, delay: int = 0, headers: Headers | None = None) -> None:
        """Run the job again after ``delay`` seconds, with ``headers`` merged into its own."""
        self._answer(
            REQUEUE, {"message": message, "delay_seconds": delay, "headers": dict(headers or {})}
        )


class Consumer:
    """Iterate the jobs sent to this worker; iteration ends when the server stops it.

    A task the loop body left unanswered is acked before the next one is taken (the
    server waits for an answer to every job): answer failures explicitly with ``nack``.
    """

    def __init__(self, worker: Worker | None = None) -> None:
        self.worker = worker or Worker.create()

    def wait_task(self) -> Task | None:
        """The next task, or ``None`` when the server asks this worker to stop."""
        payload = self.worker.wait_payload()
        if payload is None:
            return None
        try:
            context = json.loads(payload.context)
        except ValueError as exc:
            raise TaskError(f"not a jobs context (is RR_MODE=jobs?): {exc}") from None
        if not isinstance(context, dict):
            raise TaskError("not a jobs context: expected a JSON object")
        return Task(self.worker, context, payload.body)

    def __iter__(self) -> Iterator[Task]:
        while (task := self.wait_task()) is not None:
            yield task
            if not task.answered:
                task.ack()


class Queue:
    """One pipeline, for pushing (``Jobs(rpc).connect(name)``)."""

    def __init__(self, rpc: RPC, name: str) -> None:
        self._rpc = rpc
        self.name = name

    def job(
        self,
        name: str,
        payload: bytes | str | Mapping[str, Any] | Sequence[Any] = b"",
        *,
        id: str | None = None,
        delay: int = 0,
        priority: int = 0,
        headers: Mapping[str, Sequence[str] | str] | None = None,
        auto_ack: bool = False,
    ) -> dict[str, Any]:
        """A ``jobs.v1.Job`` (as a dict) for this pipeline; dicts and lists become JSON."""
        if not isinstance(payload, bytes | str):
            payload = json.dumps(payload, separators=(",", ":"))
        return {
            "job": name,
            "id": id or str(uuid.uuid4()),
            "payload": payload.encode("utf-8") if isinstance(payload, str) else payload,
            "headers": {
                k: [v] if isinstance(v, str) else list(v) for k, v in (headers or {}).items()
            },
            "options": {
                "pipeline": self.name,
                "delay": delay,
                "priority": priority,
                "auto_ack": auto_ack,
            },
        }

    def push(
        self,
        name: str,
        payload: bytes | str | Mapping[str, Any] | Sequence[Any] = b"",
        **options: Any,
    ) -> str:
        """Push one job (``jobs.Push``); returns its id.  Options: see :meth:`job`."""
        job = self.job(name, payload, **options)
        self._rpc.call("jobs.Push", jobs_proto.encode_jobs([job]))
        return str(job["id"])

    def push_batch(self, jobs: Sequence[Mapping[str, Any]]) -> list[str]:
        """Push jobs made by :meth:`job` in one call (``jobs.PushBatch``); returns their ids."""
        self._rpc.call("jobs.PushBatch", jobs_proto.encode_jobs(jobs))
        return [str(job["id"]) for job in jobs]

    def pause(self) -> None:
        """Stop consuming this pipeline."""
        self._rpc.call("jobs.Pause", jobs_proto.encode_pipelines([self.name]))

    def resume(self) -> None:
        """Consume this pipeline again."""
        self._rpc.call("jobs.Resume", jobs_proto.encode_pipelines([self.name]))


class Jobs:
    """The ``jobs`` RPC service (PHP's ``Spiral\\RoadRunner\\Jobs\\Jobs``)."""

    def __init__(self, rpc: RPC | None = None) -> None:
        self._rpc = (rpc or RPC.create()).with_codec(CODEC_PROTO)

    def connect(self, pipeline: str) -> Queue:
        """A :class:`Queue` for ``pipeline`` (not checked until the first push)."""
        return Queue(self._rpc, pipeline)

    def pause(self, *pipelines: str) -> None:
        """Stop consuming these pipelines."""
        self._rpc.call("jobs.Pause", jobs_proto.encode_pipelines(pipelines))

    def resume(self, *pipelines: str) -> None:
        """Consume these pipelines (again)."""
        self._rpc.call("jobs.Resume", jobs_proto.encode_pipelines(pipelines))

    def list(self) -> list[str]:
        """Every pipeline's name."""
        return jobs_proto.decode_pipelines(self._rpc.call("jobs.List", b""))

    def declare(self, name: str, driver: str = "memory", **options: Any) -> Queue:
        """Create a pipeline at run time (``jobs.Declare``), e.g. ``priority=5``."""
        self._rpc.call(
            "jobs.Declare", jobs_proto.encode_declare({"driver": driver, "name": name, **options})
        )
        return Queue(self._rpc, name)

    def destroy(self, *pipelines: str) -> builtins.list[str]:
        """Stop and forget these pipelines; returns the names destroyed."""
        reply = self._rpc.call("jobs.Destroy", jobs_proto.encode_pipelines(pipelines))
        return jobs_proto.decode_pipelines(reply)

    def stat(self) -> builtins.list[dict[str, Any]]:
        """Every pipeline's counters (``jobs.Stat``)."""
        return jobs_proto.decode_stats(self._rpc.call("jobs.Stat", b""))
