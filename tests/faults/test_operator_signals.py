"""The signals operators send to a running server: reset, restart in place, the ignored ones.

A real ``python -m actors.main`` process serving HTTP with Python workers; the client is
plain blocking ``http.client`` (no gevent in this test process's way), bounded in count.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.examples._serve import ROOT, Server, serve
from tests.support.hub import wait_for
from tests.support.procs import alive, children, free_port


def config(tmp_path: Path, port: int, extra: str = "") -> Path:
    path = tmp_path / "rr.yaml"
    path.write_text(
        'version: "3"\n'
        "server:\n"
        f"  command: [{sys.executable!r}, -m, relays.wsgi, examples.hello:app]\n"
        "http:\n"
        f"  address: 127.0.0.1:{port}\n"
        "  pool: {num_workers: 2}\n"
        "logs: {level: info, mode: production}\n" + extra
    )
    return path


def workers_of(server: Server, count: int = 2) -> list[int]:
    pids: list[int] = []

    def ready() -> bool:
        nonlocal pids
        pids = sorted(children(server.proc.pid))
        return len(pids) == count

    assert wait_for(ready, timeout=20), server.output()
    return pids


def load(server: Server, stop: threading.Event, results: list[object]) -> None:
    """GET / in a loop (at most 2,000 requests or until ``stop``), recording each outcome."""
    for _ in range(2000):
        if stop.is_set():
            return
        try:
            status, _, _ = server.get("/")
            results.append(status)
        except OSError as exc:
            results.append(repr(exc))


def test_sighup_resets_every_pool_under_load_without_failing_a_request(tmp_path: Path) -> None:
    port = free_port()
    with serve(["-c", str(config(tmp_path, port))], tmp_path / "server.log", port) as server:
        before = workers_of(server)
        stop, results = threading.Event(), []
        clients = [threading.Thread(target=load, args=(server, stop, results)) for _ in range(4)]
        for c in clients:
            c.start()
        time.sleep(0.3)
        server.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "every pool was reset" in server.output(), timeout=30)
        time.sleep(0.3)
        stop.set()
        for c in clients:
            c.join(30)
        after = workers_of(server)
        assert not set(before) & set(after)
        assert results and set(results) == {200}, [r for r in results if r != 200][:5]
        assert server.terminate() == 0


def test_sigusr2_restarts_in_place_with_new_workers(tmp_path: Path) -> None:
    port = free_port()
    with serve(["-c", str(config(tmp_path, port))], tmp_path / "server.log", port) as server:
        before = workers_of(server)
        server.proc.send_signal(signal.SIGUSR2)
        assert wait_for(lambda: server.output().count("greenrunner started") == 2, timeout=30), (
            server.output()
        )
        assert server.proc.poll() is None  # the same process: its pid is unchanged
        after = workers_of(server)
        assert not set(before) & set(after)
        assert not [p for p in before if alive(p)]
        assert wait_for(lambda: _status(server) == 200, timeout=20)
        assert "restarting in place" in server.output()
        assert server.terminate() == 0


def _status(server: Server) -> int:
    try:
        return server.get("/")[0]
    except OSError:
        return 0


def test_other_signals_are_logged_and_ignored(tmp_path: Path) -> None:
    port = free_port()
    with serve(["-c", str(config(tmp_path, port))], tmp_path / "server.log", port) as server:
        server.proc.send_signal(signal.SIGALRM)
        assert wait_for(lambda: "SIGALRM" in server.output(), timeout=10)
        assert server.proc.poll() is None
        assert server.get("/")[0] == 200
        assert server.terminate() == 0


def test_config_that_serves_nothing_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "rr.yaml"
    path.write_text(
        'version: "3"\nserver:\n  command: "php worker.php"\ntemporal:\n  address: x:1\n'
        "logs: {level: error}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "actors.main", "-c", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "starts nothing that serves: add an http or tcp section" in proc.stderr
    assert "Traceback" not in proc.stderr and "LoopExit" not in proc.stderr


def test_sigusr1_reopens_log_files_after_rotation(tmp_path: Path) -> None:
    port = free_port()
    log_file = tmp_path / "rr.log"
    extra = f"  output: {str(log_file)!r}\n"
    path = config(tmp_path, port)
    path.write_text(
        path.read_text().replace(
            "logs: {level: info, mode: production}\n",
            "logs:\n  level: info\n  mode: production\n" + extra,
        )
    )
    with serve(["-c", str(path)], tmp_path / "server.log", port) as server:
        assert wait_for(lambda: "greenrunner started" in log_file.read_text(), timeout=10)
        rotated = tmp_path / "rr.log.1"
        log_file.rename(rotated)  # what logrotate does
        server.proc.send_signal(signal.SIGUSR1)
        assert wait_for(lambda: log_file.exists() and "reopened" in log_file.read_text())
        assert "reopened" not in rotated.read_text()
        assert server.terminate() == 0
    assert "greenrunner stopped" in log_file.read_text()
