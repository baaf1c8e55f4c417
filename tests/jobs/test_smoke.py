"""First light: push over RPC, a Python SDK worker acks."""

from __future__ import annotations

from tests.jobs.harness import JobsHarness


def test_push_and_consume(jobs: JobsHarness) -> None:
    jobs.start()
    jid = jobs.call(lambda j: j.connect("default").push("ack", b"hello", headers={"a": "b"}))
    got = jobs.wait_received(1)
    assert got[0]["id"] == jid
    assert got[0]["payload"] == "hello"
    assert got[0]["headers"] == {"a": ["b"]}
