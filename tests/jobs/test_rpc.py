"""``jobs.*`` over RPC: the protobuf messages, RoadRunner's error texts, declare and destroy."""

from __future__ import annotations

from typing import Any

import pytest

from relays import jobs_proto
from relays.jobs import Jobs
from relays.rpc import CODEC_JSON, CODEC_PROTO, ServiceError
from tests.jobs.harness import JobsHarness


def error_of(jobs: JobsHarness, method: str, body: Any, codec: int = CODEC_PROTO) -> str:
    with pytest.raises(ServiceError) as info:
        jobs.rpc(method, body, codec)
    return info.value.text


def test_unknown_pipelines_and_bad_payloads_give_roadrunners_errors(jobs: JobsHarness) -> None:
    jobs.start()
    job = {"job": "ack", "id": "1", "payload": b"x", "options": {"pipeline": "nope"}}
    assert error_of(jobs, "jobs.Push", jobs_proto.encode_jobs([job])) == (
        "rpc_push:\n\tjobs_plugin_push: no such pipeline, requested: nope"
    )
    assert error_of(jobs, "jobs.PushBatch", jobs_proto.encode_jobs([job])) == (
        "rpc_push_batch:\n\tjobs_plugin_push: no such pipeline, requested: nope"
    )
    no_id = {**job, "id": "", "options": {"pipeline": "default"}}
    assert error_of(jobs, "jobs.Push", jobs_proto.encode_jobs([no_id])) == (
        "rpc_push: empty ID field not allowed"
    )
    assert error_of(jobs, "jobs.Push", b"") == "rpc_push: job is required"
    assert error_of(jobs, "jobs.Push", b"\x0a\xff\xff") == (
        "goridge_read_request_body: proto: cannot parse invalid wire-format data"
    )
    names = jobs_proto.encode_pipelines(["nope"])
    assert error_of(jobs, "jobs.Pause", names) == (
        "rpc_pause:\n\tno such pipeline, requested: nope"
    )
    assert error_of(jobs, "jobs.Resume", names) == (
        "rpc_resume:\n\tno such pipeline, requested: nope"
    )
    assert error_of(jobs, "jobs.Destroy", names) == (
        "rpc_destroy_pipeline:\n\trpc_destroy_pipeline:\n\t"
        "jobs_plugin_destroy: no such pipeline, requested: nope"
    )
    assert "protobuf codec" in error_of(jobs, "jobs.Push", {"job": {}}, CODEC_JSON)
    # A driver's own refusals come through as plain texts.
    assert error_of(jobs, "jobs.Resume", jobs_proto.encode_pipelines(["default"])) == (
        "rpc_resume: memory listener is already in the active state"
    )
    jobs.call(lambda j: j.pause("default"))
    assert error_of(jobs, "jobs.Pause", jobs_proto.encode_pipelines(["default"])) == (
        "rpc_pause: no active listeners, nothing to pause"
    )


def test_declare_list_stat_and_destroy(jobs: JobsHarness) -> None:
    jobs.start(consume=["default", "dyn"])

    def declare(j: Jobs) -> Any:
        j.declare("dyn", "memory", priority=3, prefetch=10)
        j.declare("idle", "memory")
        return j.list(), j.stat()

    names, stats = jobs.call(declare)
    assert names == ["default", "dyn", "idle"]
    by_name = {s["pipeline"]: s for s in stats}
    assert by_name["dyn"] == {
        "pipeline": "dyn", "driver": "memory", "queue": "dyn", "active": 0, "delayed": 0,
        "reserved": 0, "ready": True, "priority": 3,
    }  # fmt: skip
    assert by_name["idle"]["ready"] is False  # declared, not in consume: waits for Resume
    jobs.call(lambda j: j.connect("dyn").push("ack", b"dynamic"))
    assert jobs.wait_received(1)[0]["pipeline"] == "dyn"
    assert error_of(jobs, "jobs.Declare", jobs_proto.encode_declare(
        {"driver": "memory", "name": "dyn"})) == (
        "rpc_declare_pipeline: pipeline already exists, name: dyn, driver: memory"
    )  # fmt: skip
    assert error_of(jobs, "jobs.Declare", jobs_proto.encode_declare({"name": "x"})) == (
        "rpc_declare_pipeline:\n\tjobs_plugin_declare: "
        "no associated driver with the pipeline, pipeline name: x"
    )
    assert "not supported by Greenrunner yet" in error_of(
        jobs, "jobs.Declare", jobs_proto.encode_declare({"driver": "kafka", "name": "k"})
    )
    assert "prefetch" in error_of(
        jobs,
        "jobs.Declare",
        jobs_proto.encode_declare({"driver": "memory", "name": "p", "prefetch": "lots"}),
    )
    destroyed = jobs.call(lambda j: (j.destroy("dyn", "idle"), j.list()))
    assert destroyed == (["dyn", "idle"], ["default"])
    job = {"job": "ack", "id": "1", "options": {"pipeline": "dyn"}}
    assert "no such pipeline, requested: dyn" in error_of(
        jobs, "jobs.Push", jobs_proto.encode_jobs([job])
    )


def test_destroy_drops_the_jobs_waiting_in_a_paused_pipeline(jobs: JobsHarness) -> None:
    jobs.start()
    jobs.call(lambda j: j.pause("default"))
    jobs.call(lambda j: [j.connect("default").push("ack", b"x") for _ in range(3)])
    jobs.wait_state(lambda s: s["Active"] == 3)
    assert jobs.call(lambda j: j.destroy("default")) == ["default"]
    assert jobs.system.plugins["jobs"].jobs_state() == []
    assert jobs.received() == []


def test_the_proto_messages_round_trip() -> None:
    job = {
        "job": "App\\Task",
        "id": "7",
        "payload": b"\x00\xffbin",
        "headers": {"a": ["1", "2"], "é": ["ü"]},
        "options": {"priority": -3, "pipeline": "p", "delay": 9, "auto_ack": True,
                    "topic": "t", "metadata": "m", "offset": 5, "partition": 2},
    }  # fmt: skip
    assert jobs_proto.decode_jobs(jobs_proto.encode_jobs([job, job])) == [job, job]
    assert jobs_proto.decode_pipelines(jobs_proto.encode_pipelines(["a", "", "b"])) == [
        "a", "", "b",
    ]  # fmt: skip
    assert jobs_proto.decode_declare(jobs_proto.encode_declare({"x": 1, "y": True})) == {
        "x": "1",
        "y": "true",
    }
