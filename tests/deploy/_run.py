"""Start Greenrunner the way a deployment does: a subprocess from the app's own directory.

Nothing from the repository is put on ``sys.path`` or ``PYTHONPATH``: the server and
its workers find ``actors`` and ``relays`` only because the package is installed in
the interpreter that runs the tests (``pip install '.[test]'``), exactly as on a
production machine.
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
from pathlib import Path

from tests.support.procs import alive, children, free_port

#: A PATH with no virtualenv on it, as a systemd unit or a Dockerfile CMD has.
BARE_PATH = "/usr/local/bin:/usr/bin:/bin"


def bare_env(**extra: str) -> dict[str, str]:
    """The environment of a service manager: no venv on PATH, no PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = BARE_PATH
    env.update(extra)
    return env


def write_app(directory: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def rr_yaml(command: str, port: int, relay: str = "pipes") -> str:
    return (
        'version: "3"\n'
        "server:\n"
        f"  command: {command!r}\n"
        f"  relay: {relay!r}\n"
        "http:\n"
        f"  address: 127.0.0.1:{port}\n"
        "  pool: {num_workers: 1}\n"
        "logs: {level: info, mode: production}\n"
    )


def get(port: int, path: str = "/") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@contextlib.contextmanager
def serve(
    argv: Sequence[str], cwd: Path, port: int, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` in ``cwd`` with :func:`bare_env`; yield once ``port`` accepts."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=bare_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"server exited with {proc.returncode}:\n{log.read_text()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"server did not listen within 30 s:\n{log.read_text()}")
            time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            workers = children(proc.pid)
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for pid in workers:
            if alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def server_argv(*args: str) -> list[str]:
    """``greenrunner`` by its full path (the installed console script), as a unit file has it."""
    script = Path(sys.executable).parent / "greenrunner"
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "actors.main", *args]


__all__ = ["BARE_PATH", "bare_env", "free_port", "get", "rr_yaml", "serve", "server_argv"]
