"""The jobs plugin seen from outside: informer.Jobs, /jobs, rr_jobs_* metrics, reset, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import gevent
import gevent.subprocess

from relays.rpc import CODEC_JSON
from tests.jobs.harness import JobsHarness
from tests.support.http_client import fetch as get

ROOT = Path(__file__).resolve().parents[2]


def test_informer_status_and_metrics_show_the_pipelines(jobs: JobsHarness) -> None:
    system = jobs.start(
        {"default": {"driver": "memory"}, "other": {"driver": "memory", "priority": 4}},
        consume=["default"],
        sections={
            "metrics": {"address": "127.0.0.1:0"},
            "status": {"address": "127.0.0.1:0"},
        },
    )
    jobs.call(lambda j: j.connect("default").push("ack", b"x"))
    jobs.call(lambda j: j.connect("other").push("ack", b"waits"))
    jobs.wait_received(1)
    jobs.wait_state(lambda s: s["Active"] == 0)
    assert jobs.rpc("informer.Jobs", "jobs", CODEC_JSON) == [
        {"Pipeline": "default", "Driver": "memory", "Queue": "default", "Active": 0,
         "Delayed": 0, "Reserved": 0, "Ready": True, "Priority": 10, "ErrorMessage": ""},
        {"Pipeline": "other", "Driver": "memory", "Queue": "other", "Active": 1,
         "Delayed": 0, "Reserved": 0, "Ready": False, "Priority": 4, "ErrorMessage": ""},
    ]  # fmt: skip
    assert "jobs" in jobs.rpc("informer.List", True, CODEC_JSON)
    assert "jobs" in jobs.rpc("resetter.List", True, CODEC_JSON)
    status, body = get(system.status.server.address, "/jobs")
    assert status == 200
    assert json.loads(body) == [
        {"pipeline": "default", "priority": 10, "ready": True, "queue": "default", "active": 0,
         "delayed": 0, "reserved": 0, "driver": "memory", "error_message": ""},
        {"pipeline": "other", "priority": 4, "ready": False, "queue": "other", "active": 1,
         "delayed": 0, "reserved": 0, "driver": "memory", "error_message": ""},
    ]  # fmt: skip
    status, body = get(system.status.server.address, "/ready?plugin=jobs")
    assert status == 200 and json.loads(body)[0]["plugin_name"] == "jobs"
    status, body = get(system.metrics.server.address, "/metrics")
    text = body.decode()
    series = dict(
        line.rpartition(" ")[::2] for line in text.splitlines() if line.startswith("rr_jobs_")
    )
    assert float(series["rr_jobs_total_workers"]) == 2
    assert float(series["rr_jobs_push_ok"]) == 2
    assert float(series["rr_jobs_push_err"]) == 0
    assert float(series["rr_jobs_jobs_ok"]) == 1
    assert float(series["rr_jobs_jobs_err"]) == 0
    assert (
        float(series['rr_jobs_requests_total{driver="memory",job="default",source="single"}']) == 1
    )
    assert (
        float(series['rr_jobs_push_latency_count{driver="memory",job="default",source="single"}'])
        == 1
    )
    assert "# TYPE rr_jobs_push_latency histogram" in text


def test_jobs_section_without_the_plugin_started_says_so_on_status(jobs: JobsHarness) -> None:
    system = jobs.start(sections={"status": {"address": "127.0.0.1:0"}})
    system.plugins.pop("jobs").stop(timeout=3)
    status, body = get(system.status.server.address, "/jobs")
    assert status == 503 and b"jobs plugin not found" in body


def test_reset_replaces_the_workers_and_jobs_keep_flowing(jobs: JobsHarness) -> None:
    system = jobs.start()
    before = {w["pid"] for w in system.pools["jobs"].workers()}
    assert jobs.rpc("resetter.Reset", "jobs", CODEC_JSON) is True
    after = {w["pid"] for w in system.pools["jobs"].workers()}
    assert before.isdisjoint(after) and len(after) == 2
    jobs.call(lambda j: j.connect("default").push("ack", b"after reset"))
    assert jobs.wait_received(1)[0]["pid"] in after


def test_stop_lets_running_jobs_finish_and_drops_the_queued_ones(
    jobs: JobsHarness, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    system = jobs.start(
        num_workers=1,
        num_pollers=1,
        sections={"logs": {"level": "warn", "encoding": "json", "output": [str(log)]}},
    )
    jobs.call(lambda j: [j.connect("default").push("sleep", b"1") for _ in range(4)])
    jobs.wait_received(1)
    started = time.monotonic()
    system.stop(timeout=10)
    took = time.monotonic() - started
    assert 0.5 <= took < 8, took  # the running job finished first
    assert len(jobs.received()) == 1
    dropped = [
        entry
        for entry in map(json.loads, log.read_text().splitlines())
        if "dropped" in entry.get("msg", "")
    ]
    assert [(e["pipeline"], e["dropped"]) for e in dropped] == [("default", 3)], dropped


def cli(
    jobs: JobsHarness, tmp: Path, *args: str, command: str = "jobs"
) -> subprocess.CompletedProcess[str]:
    """``python -m actors.main jobs ...`` against the harness' server (the hub keeps serving)."""
    config = tmp / "cli.rr.yaml"
    config.write_text(f'version: "3"\nrpc:\n  listen: {jobs.address}\n')

    # gevent's subprocess: the hub reaps children, so a thread's subprocess.run would see
    # ECHILD and report exit status 0 whatever the command returned.
    result: subprocess.CompletedProcess[str] = gevent.subprocess.run(
        [sys.executable, "-m", "actors.main", command, "-c", str(config), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return result


def test_the_cli_pauses_resumes_lists_and_destroys(jobs: JobsHarness, tmp_path: Path) -> None:
    jobs.start({"a": {"driver": "memory"}, "b": {"driver": "memory"}})
    done = cli(jobs, tmp_path, "pause", "a,b")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "+-------------+",
        "| PIPELINE(S) |",
        "+-------------+",
        "| a           |",
        "| b           |",
        "+-------------+",
    ]
    assert [s["Ready"] for s in jobs.system.plugins["jobs"].jobs_state()] == [False, False]
    done = cli(jobs, tmp_path, "--resume", "a", "-s")
    assert (done.returncode, done.stdout) == (0, "")
    assert [s["Ready"] for s in jobs.system.plugins["jobs"].jobs_state()] == [True, False]
    done = cli(jobs, tmp_path, "list")
    assert done.returncode == 0, done.stderr
    assert "| a           |" in done.stdout and "| b           |" in done.stdout
    done = cli(jobs, tmp_path, "destroy", "b")
    assert done.returncode == 0 and "| b " in done.stdout
    assert jobs.system.plugins["jobs"].names() == ["a"]
    done = cli(jobs, tmp_path, "pause", "nope")
    assert done.returncode == 1
    assert "no such pipeline, requested: nope" in done.stderr
    done = cli(jobs, tmp_path, "pause")
    assert done.returncode == 1 and "incorrect command usage" in done.stderr
    done = cli(jobs, tmp_path)
    assert done.returncode == 2 and "pause, resume, destroy or list" in done.stderr


def test_greenrunner_workers_shows_the_jobs_table(jobs: JobsHarness, tmp_path: Path) -> None:
    jobs.start({"mail": {"driver": "memory"}, "idle": {"driver": "memory"}}, consume=["mail"])
    done = cli(jobs, tmp_path, "jobs", command="workers")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "Workers of [jobs]:" in lines and "Jobs of [jobs]:" in lines
    table = lines[lines.index("Jobs of [jobs]:") + 1 :]
    assert any("PIPELINE" in line and "RESERVED" in line for line in table)
    rows = [line for line in table if "memory" in line]
    assert [r.split("|")[1].strip() for r in rows] == ["PAUSED/STOPPED", "READY"]
    assert [r.split("|")[2].strip() for r in rows] == ["idle", "mail"]
