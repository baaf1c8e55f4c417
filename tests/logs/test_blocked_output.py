"""A real server (``python -m actors.main``) whose log output is a pipe nobody reads.

The issue this guards: log lines used to be written on the gevent hub, so a
full stderr pipe stopped every request.  Here the server's stderr is a pipe
whose read end the test does not read until it chooses to; requests must be
answered all the same, and once the pipe is drained every line that was not
dropped comes out, in order, with notices that account for every dropped one.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import gevent
import gevent.subprocess
import pytest

from tests.logs.spam_worker import RAW_LINES
from tests.support.procs import children, free_port, kill_all

REPO = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).resolve().parent / "spam_worker.py"
NOTICE_RE = re.compile(r"^(\d+) log lines dropped: output was blocked$")
SPAM = 30_000  # JSON lines of ~90 bytes: far more than a pipe (64 KiB) and the queue hold
PINGS = 200


def start_server(
    tmp_path: Path, port: int, logs: str, stderr: int, access_logs: bool = True
) -> Any:
    config = tmp_path / "rr.yaml"
    config.write_text(
        textwrap.dedent(
            f"""
            version: "3"
            server:
              command: "{sys.executable} {WORKER}"
            http:
              address: 127.0.0.1:{port}
              access_logs: {str(access_logs).lower()}
              pool:
                num_workers: 1
            logs:
            """
        )
        + textwrap.indent(textwrap.dedent(logs), "  ")
    )
    return gevent.subprocess.Popen(
        [sys.executable, "-m", "actors.main", "serve", "-c", str(config)],
        cwd=REPO,
        stdin=gevent.subprocess.DEVNULL,
        stdout=gevent.subprocess.DEVNULL,
        stderr=stderr,
    )


def wait_listening(port: int, proc: Any, timeout: float = 30.0) -> None:
    """TCP connect only: an HTTP request here would add an access log line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited at start-up"
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        gevent.sleep(0.05)
    raise AssertionError(f"the server did not listen on {port} within {timeout}s")


def get(port: int, path: str) -> tuple[int, bytes, float]:
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read(), time.monotonic() - started
    finally:
        conn.close()


class Drain:
    """Reads a pipe to EOF in a real thread, once started (until then, nobody reads it)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.data = bytearray()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while chunk := os.read(self.fd, 65536):
            self.data.extend(chunk)

    def start(self) -> Drain:
        self.thread.start()
        return self

    def text(self) -> str:
        return bytes(self.data).decode("utf-8", "replace")


def stop(proc: Any) -> int:
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=30)
    assert code is not None
    return int(code)


@pytest.fixture
def pipe() -> Any:
    r, w = os.pipe()
    yield r, w
    for fd in (r, w):
        with contextlib.suppress(OSError):
            os.close(fd)


def test_blocked_log_pipe_does_not_stop_requests(tmp_path: Path, pipe: tuple[int, int]) -> None:
    r, w = pipe
    port = free_port()
    proc = start_server(tmp_path, port, "level: info\nmode: production\n", stderr=w)
    os.close(w)
    workers: set[int] = set()
    try:
        wait_listening(port, proc)
        workers = children(proc.pid)
        # The worker writes SPAM lines on stderr; the server logs each: the pipe and the
        # queue fill up, the writer thread blocks in write(), lines start being dropped.
        status, body, _ = get(port, f"/spam?n={SPAM}&tag=a")
        assert (status, body) == (200, b"spammed")
        # With its log output blocked, the server still answers, and promptly.
        latencies = []
        for i in range(PINGS):
            status, body, took = get(port, f"/ping?i={i}")
            assert (status, body) == (200, b"pong"), i
            latencies.append(took)
        assert max(latencies) < 5.0, f"a request waited {max(latencies):.2f}s"
        assert proc.poll() is None
        # Drain the pipe: the writer resumes and says how many lines it dropped.
        drain = Drain(r).start()
        deadline = time.monotonic() + 30
        while "log lines dropped" not in drain.text():
            assert time.monotonic() < deadline, "no drop notice after the pipe was drained"
            gevent.sleep(0.05)
        # Lines logged from now on come out again.
        assert get(port, "/spam?n=10&tag=c")[:2] == (200, b"spammed")
        assert get(port, "/after")[:2] == (200, b"pong")
        assert stop(proc) == 0
        drain.thread.join(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        kill_all(workers)

    lines = drain.text().splitlines()
    entries = [json.loads(line) for line in lines]  # every line whole: none torn in two
    msgs = [e["msg"] for e in entries]

    def indices(tag: str) -> list[int]:
        return [int(m.split()[1]) for m in msgs if re.fullmatch(rf"{tag} \d+", m)]

    def pings() -> list[int]:
        return [
            int(e["uri"].rpartition("=")[2])
            for e in entries
            if e["msg"] == "http access log" and e["uri"].startswith("/ping")
        ]

    a_lines, ping_lines = indices("a"), pings()
    notices = [(i, e) for i, e in enumerate(entries) if NOTICE_RE.match(e["msg"])]
    dropped = sum(e["dropped"] for _, e in notices)
    assert notices and dropped > 0
    assert all(e["logger"] == "logs" and e["level"] == "warn" for _, e in notices)
    # Order kept: whatever came out of each sequence is in the order it was logged.
    assert a_lines == sorted(set(a_lines))
    assert ping_lines == sorted(set(ping_lines))
    # Every line logged while the output was blocked is either out or counted as dropped.
    spam_access = [e for e in entries if e.get("uri", "").startswith("/spam?n=30000")]
    missing = (SPAM - len(a_lines)) + (PINGS - len(ping_lines)) + (1 - len(spam_access))
    assert dropped == missing, (dropped, missing)
    # After the drain nothing is lost, and it comes after the notices.
    last_notice = notices[-1][0]
    c_at = [i for i, m in enumerate(msgs) if re.fullmatch(r"c \d+", m)]
    assert [msgs[i] for i in c_at] == [f"c {i}" for i in range(10)]
    assert min(c_at) > last_notice
    assert any(e.get("uri") == "/after" for e in entries[last_notice:])
    assert msgs[-1] == "greenrunner stopped"  # queued at exit, written before the process ended


def test_raw_mode_passes_worker_output_through_untouched(
    tmp_path: Path, pipe: tuple[int, int]
) -> None:
    r, w = pipe
    port = free_port()
    # No access log: its line would land among the worker's (the response can be out before
    # the server has read all of the worker's stderr), which is right but not what is checked.
    proc = start_server(tmp_path, port, "level: info\nmode: raw\n", stderr=w, access_logs=False)
    os.close(w)
    drain = Drain(r).start()
    workers: set[int] = set()
    try:
        wait_listening(port, proc)
        workers = children(proc.pid)
        assert get(port, "/say")[:2] == (200, b"said")
        # The worker's stderr is forwarded in bounded turns, so its lines may still be on the
        # way after the response: stop only once the last one is out, or the server's own
        # "stop signal received" line lands among them (right, but not what is checked).
        deadline = time.monotonic() + 10
        while b"last line\n" not in bytes(drain.data) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert stop(proc) == 0
        drain.thread.join(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        kill_all(workers)
    out = bytes(drain.data)
    expected = b"".join(
        line.decode("utf-8", "backslashreplace").encode() + b"\n" for line in RAW_LINES
    )
    assert expected in out
    assert b'"msg"' not in out.replace(RAW_LINES[0], b"")  # nothing JSON-decorated in raw mode
