"""``jobs.*`` over RPC: what PHP's producer (``spiral/roadrunner-jobs``) and ``rr jobs`` call.

Arguments and replies are the ``jobs.v1`` protobuf messages (:mod:`relays.jobs_proto`),
sent with the protobuf codec (flag 0x80); errors carry RoadRunner's texts, e.g.
``rpc_push:\\n\\tjobs_plugin_push: no such pipeline, requested: X``.  Every method runs in
its RPC call's greenlet and reads the plugin's facade only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from actors.plugins.jobs.driver import Job, JobOptions
from actors.plugins.jobs.errors import JobsError, wrap
from relays import jobs_proto
from relays.proto import ProtoError

if TYPE_CHECKING:
    from actors.plugins.jobs.plugin import JobsPlugin

__all__ = ["JobsService", "to_job"]

#: Go's protobuf text for bytes that are not the message, as goridge wraps it.
BAD_PROTO = "goridge_read_request_body: proto: cannot parse invalid wire-format data"


def _message(body: Any, method: str) -> bytes:
    """The request's protobuf bytes (``None`` is an empty message)."""
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    raise JobsError(
        f"jobs.{method} takes a jobs.v1 protobuf message: call it with the protobuf codec "
        "(flag 0x80, PHP's ProtobufCodec), not JSON"
    )


def _decode(decoder: Any, body: Any, method: str) -> Any:
    try:
        return decoder(_message(body, method))
    except ProtoError:
        raise JobsError(BAD_PROTO) from None


def to_job(message: dict[str, Any]) -> Job:
    """A decoded ``jobs.v1.Job`` as the drivers' :class:`Job`."""
    options = message.get("options") or {}
    return Job(
        name=message["job"],
        id=message["id"],
        payload=message["payload"],
        headers=message["headers"],
        options=JobOptions(
            priority=int(options.get("priority", 0)),
            pipeline=str(options.get("pipeline", "")),
            delay=int(options.get("delay", 0)),
            auto_ack=bool(options.get("auto_ack", False)),
            topic=str(options.get("topic", "")),
            metadata=str(options.get("metadata", "")),
            offset=int(options.get("offset", 0)),
            partition=int(options.get("partition", 0)),
        ),
    )


class JobsService:
    """RoadRunner's ``jobs`` RPC service over one :class:`JobsPlugin`."""

    def __init__(self, plugin: JobsPlugin) -> None:
        self._plugin = plugin

    def Push(self, body: Any) -> bytes:
        """``PushRequest`` → ``Empty``; the job needs an id."""
        jobs = _decode(jobs_proto.decode_jobs, body, "Push")
        if not jobs:
            raise wrap("rpc_push", "job is required")
        job = jobs[-1]  # a repeated field read as a singular one keeps the last, as protobuf
        if not job["id"]:
            raise wrap("rpc_push", "empty ID field not allowed")
        try:
            self._plugin.push(to_job(job))
        except JobsError as exc:
            raise wrap("rpc_push", exc) from None
        return b""

    def PushBatch(self, body: Any) -> bytes:
        """``PushBatchRequest`` → ``Empty``; stops at the first job that fails."""
        jobs = _decode(jobs_proto.decode_jobs, body, "PushBatch")
        try:
            self._plugin.push_batch([to_job(job) for job in jobs])
        except JobsError as exc:
            raise wrap("rpc_push_batch", exc) from None
        return b""

    def Pause(self, body: Any) -> bytes:
        """``Pipelines`` → ``Empty``."""
        return self._each_pipeline(body, "Pause", "rpc_pause", self._plugin.pause)

    def Resume(self, body: Any) -> bytes:
        """``Pipelines`` → ``Empty``."""
        return self._each_pipeline(body, "Resume", "rpc_resume", self._plugin.resume)

    def _each_pipeline(
        self, body: Any, method: str, op: str, action: Callable[[str], object]
    ) -> bytes:
        """Apply ``action`` to each pipeline named in a ``Pipelines`` message, stopping at the
        first failure (upstream's error names the RPC operation ``op``)."""
        for name in _decode(jobs_proto.decode_pipelines, body, method):
            try:
                action(name)
            except JobsError as exc:
                raise wrap(op, exc) from None
        return b""

    def List(self, body: Any = None) -> bytes:
        """``Empty`` → ``Pipelines``."""
        return jobs_proto.encode_pipelines(self._plugin.names())

    def Declare(self, body: Any) -> bytes:
        """``DeclareRequest{pipeline: {driver, name, ...}}`` → ``Empty``."""
        pipeline = _decode(jobs_proto.decode_declare, body, "Declare")
        try:
            self._plugin.declare(pipeline)
        except JobsError as exc:
            raise wrap("rpc_declare_pipeline", exc) from None
        return b""

    def Destroy(self, body: Any) -> bytes:
        """``Pipelines`` → the ``Pipelines`` destroyed."""
        destroyed = []
        for name in _decode(jobs_proto.decode_pipelines, body, "Destroy"):
            try:
                self._plugin.destroy(name)
            except JobsError as exc:
                raise wrap("rpc_destroy_pipeline", wrap("rpc_destroy_pipeline", exc)) from None
            destroyed.append(name)
        return jobs_proto.encode_pipelines(destroyed)

    def Stat(self, body: Any = None) -> bytes:
        """``Empty`` → ``Stats``."""
        return jobs_proto.encode_stats(
            {
                "pipeline": s.pipeline,
                "driver": s.driver,
                "queue": s.queue,
                "active": s.active,
                "delayed": s.delayed,
                "reserved": s.reserved,
                "ready": s.ready,
                "priority": s.priority,
            }
            for s in self._plugin.states()
        )
