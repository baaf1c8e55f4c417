"""The two kinds of consumer: the PHP-style raw worker (examples/php/jobs_worker.php) and the
Python SDK (:mod:`relays.jobs`), on a real pool."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

from relays.frame import CODEC_RAW
from tests.jobs.harness import PHP_WORKER, JobsHarness, needs_php


@needs_php
def test_the_php_raw_consumer_gets_roadrunners_frames_and_answers(jobs: JobsHarness) -> None:
    jobs.start(worker=PHP_WORKER, num_workers=1)
    jobs.call(lambda j: j.connect("default").push("App\\Ping", b"{\"n\":1}", id="p1",
                                                   headers={"h": ["1", "2"]}))  # fmt: skip
    jobs.call(lambda j: j.connect("default").push("nack", b"", id="n1"))
    jobs.call(lambda j: j.connect("default").push("requeue", b"r", id="r1"))
    got = jobs.wait_received(4)
    first = got[0]
    assert first["flags"] == CODEC_RAW
    assert json.loads(first["context"]) == {
        "id": "p1", "job": "App\\Ping", "driver": "memory", "queue": "default",
        "headers": {"h": ["1", "2"]}, "pipeline": "default",
    }  # fmt: skip
    assert list(json.loads(first["context"])) == [
        "id", "job", "driver", "queue", "headers", "pipeline",
    ]  # fmt: skip
    assert first["payload"] == '{"n":1}'
    assert [job["id"] for job in got] == ["p1", "n1", "r1", "r1"]
    assert got[3]["headers"] == {"attempt": ["2"]}
    jobs.wait_state(lambda s: s["Active"] == 0)
    metrics = jobs.system.plugins["jobs"].metrics
    assert (metrics.jobs_ok, metrics.jobs_err) == (4, 0)


def test_the_sdk_consumer_acks_an_unanswered_task_and_refuses_a_second_answer(
    jobs: JobsHarness, tmp_path: Path
) -> None:
    app = tmp_path / "lazy.py"
    out = tmp_path / "out.log"
    root = Path(__file__).resolve().parents[2]
    app.write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(root)!r})
            from relays.jobs import Consumer, TaskError

            for task in Consumer():
                if task.name == "twice":
                    task.ack()
                    try:
                        task.nack("no")
                    except TaskError as exc:
                        open({str(out)!r}, "a").write(str(exc) + "\\n")
                # "lazy": not answered, the loop acks it before taking the next task
            """
        )
    )
    jobs.start(worker=[sys.executable, str(app)], num_workers=1)
    jobs.call(lambda j: [j.connect("default").push(n, b"") for n in ("lazy", "twice", "lazy")])
    jobs.wait_state(lambda s: s["Active"] == 0)
    assert jobs.system.plugins["jobs"].metrics.jobs_ok == 3
    assert "was already answered" in out.read_text()
