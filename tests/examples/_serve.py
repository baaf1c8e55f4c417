"""Run ``python -m actors.main`` as a real subprocess and talk to it over HTTP.

The examples are meant to be started from a shell, so they are tested the
same way: a server process per test, on a free port, stopped with SIGTERM.
No gevent in the test process: plain blocking ``http.client`` is enough.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.procs import alive, children

ROOT = Path(__file__).resolve().parents[2]


def get(port: int, path: str = "/", timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


@dataclass
class Server:
    """A running Greenrunner: its process, http port, log file and worker pids."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    workers: list[int] = field(default_factory=list)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def get(self, path: str = "/") -> tuple[int, dict[str, str], bytes]:
        return get(self.port, path)

    def terminate(self, timeout: float = 20.0) -> int:
        """SIGTERM, as a process manager would; return the exit status."""
        self.workers = children(self.proc.pid)
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)


def _wait_ready(server: Server, deadline: float) -> None:
    last: Exception | None = None
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise AssertionError(
                f"greenrunner exited with {server.proc.returncode}:\n{server.output()}"
            )
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1):
                return
        except OSError as exc:
            last = exc
            time.sleep(0.05)
    raise AssertionError(f"greenrunner did not listen in time ({last}):\n{server.output()}")


@contextlib.contextmanager
def serve(args: Sequence[str], log: Path, port: int, startup: float = 20.0) -> Iterator[Server]:
    """Start ``python -m actors.main *args`` from the repo root; yield once http listens.

    ``python3`` in a config's ``server.command`` resolves to this interpreter
    (its directory goes first on PATH), so the examples run unchanged and
    still use the Python the tests run with.  Whatever happens, the server and
    its workers are gone when the block exits.
    """
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "actors.main", *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(proc, port, log)
    try:
        _wait_ready(server, time.monotonic() + startup)
        yield server
    finally:
        if proc.poll() is None:
            server.workers = children(proc.pid)
            proc.kill()
            proc.wait(10)
        for pid in server.workers:  # a failed test must not leave workers behind
            if not alive(pid):
                continue
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def wait_gone(pids: Sequence[int], timeout: float = 5.0) -> list[int]:
    """Wait for ``pids`` to exit; return the ones still alive after ``timeout``."""
    deadline = time.monotonic() + timeout
    left = [p for p in pids if alive(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [p for p in left if alive(p)]
    return left
