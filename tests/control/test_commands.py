"""``greenrunner workers`` and ``reset`` against a real server process, as an operator runs them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.examples._serve import ROOT, serve
from tests.support.procs import alive, children, free_port


def config(tmp_path: Path, http_port: int, rpc_port: int, rpc: bool = True) -> Path:
    path = tmp_path / "rr.yaml"
    path.write_text(
        'version: "3"\n'
        "server:\n"
        f"  command: [{sys.executable!r}, -m, relays.wsgi, examples.hello:app]\n"
        "http:\n"
        f"  address: 127.0.0.1:{http_port}\n"
        "  pool: {num_workers: 2}\n"
        + (f"rpc:\n  listen: tcp://127.0.0.1:{rpc_port}\n" if rpc else "")
        + "logs: {level: warn, mode: production}\n"
    )
    return path


def command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "actors.main", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def table_pids(out: str) -> list[int]:
    return [int(m) for m in re.findall(r"^\|\s+(\d+) \| ", out, re.M)]


def test_workers_then_reset_then_workers(tmp_path: Path) -> None:
    http_port, rpc_port = free_port(), free_port()
    cfg = config(tmp_path, http_port, rpc_port)
    with serve(["-c", str(cfg)], tmp_path / "server.log", http_port) as server:
        before = sorted(children(server.proc.pid))
        shown = command("workers", "-c", str(cfg))
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.startswith("Workers of [http]:\n"), shown.stdout
        assert table_pids(shown.stdout) == before
        assert shown.stdout.count(" ready ") == 2

        reset = command("reset", "-c", str(cfg))
        assert reset.returncode == 0, reset.stdout + reset.stderr
        assert reset.stdout.splitlines() == ["resetting plugin: [http]", "plugin reset: [http]"]
        after = table_pids(command("workers", "-c", str(cfg), "http").stdout)
        assert len(after) == 2 and not set(after) & set(before)
        assert not [pid for pid in before if alive(pid)]
        assert server.get("/")[0] == 200


def test_unknown_plugin_reset_fails_with_its_reason(tmp_path: Path) -> None:
    http_port, rpc_port = free_port(), free_port()
    cfg = config(tmp_path, http_port, rpc_port)
    with serve(["-c", str(cfg)], tmp_path / "server.log", http_port):
        reset = command("reset", "-c", str(cfg), "nope")
        assert reset.returncode == 1
        assert "plugin reset failed: [nope]" in reset.stdout
        assert "no such plugin: nope" in reset.stdout


def test_no_server_listening_says_so(tmp_path: Path) -> None:
    rpc_port = free_port()
    cfg = config(tmp_path, free_port(), rpc_port)
    for name in ("workers", "reset"):
        proc = command(name, "-c", str(cfg))
        assert proc.returncode == 1
        assert proc.stderr.startswith(
            f"greenrunner: no Greenrunner is listening on tcp://127.0.0.1:{rpc_port} "
            f"(rpc.listen in {cfg})"
        ), proc.stderr
        assert "Traceback" not in proc.stderr


def test_config_without_rpc_section_says_what_to_add(tmp_path: Path) -> None:
    cfg = config(tmp_path, free_port(), 0, rpc=False)
    proc = command("workers", "-c", str(cfg))
    assert proc.returncode == 1
    assert "has no rpc section" in proc.stderr and "rpc: {listen:" in proc.stderr


def test_reset_under_load_from_32_connections_answers_every_request(tmp_path: Path) -> None:
    import http.client
    import threading

    http_port, rpc_port = free_port(), free_port()
    cfg = config(tmp_path, http_port, rpc_port)
    with serve(["-c", str(cfg)], tmp_path / "server.log", http_port) as server:
        before = set(children(server.proc.pid))
        stop = threading.Event()
        results: list[object] = []

        def client() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=30)
            try:
                for _ in range(500):  # bounded; stopped earlier by the event
                    if stop.is_set():
                        return
                    conn.request("GET", "/")
                    resp = conn.getresponse()
                    resp.read()
                    results.append(resp.status)
            except (OSError, http.client.HTTPException) as exc:
                results.append(repr(exc))
            finally:
                conn.close()

        clients = [threading.Thread(target=client) for _ in range(32)]
        for c in clients:
            c.start()
        try:
            reset = command("reset", "-c", str(cfg))
        finally:
            stop.set()
            for c in clients:
                c.join(60)
        assert reset.returncode == 0, reset.stdout + reset.stderr
        assert len(results) > 32
        assert set(results) == {200}, [r for r in results if r != 200][:5]
        after = set(children(server.proc.pid))
        assert len(after) == 2 and not after & before
        assert server.terminate() == 0


def test_workers_interactive_redraws_until_interrupted(tmp_path: Path) -> None:
    import signal
    import time

    http_port, rpc_port = free_port(), free_port()
    cfg = config(tmp_path, http_port, rpc_port)
    with serve(["-c", str(cfg)], tmp_path / "server.log", http_port):
        proc = subprocess.Popen(
            [sys.executable, "-m", "actors.main", "workers", "-i", "-c", str(cfg)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(2.5)  # about three redraws, one a second
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert out.startswith("\x1b[2J")  # cleared once
    assert out.count("\x1b[H") >= 2  # then redrawn in place
    assert out.count("Workers of [http]:") >= 2
