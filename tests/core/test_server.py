"""ActorSystem start-up: on_init, user/group, relays, and the CLI's signal handling."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from actors.errors import AllocateError
from actors.system import ActorSystem, StartupError
from relays import Payload
from tests.support.procs import alive, children, free_port, ppid, state
from tests.support.workers import REPO, WORKERS, worker_cmd


def system(tmp_path: Path, **server: object) -> ActorSystem:
    data = {
        "server": {"command": worker_cmd("echo"), **server},
        "logs": {"level": "error", "mode": "production"},
    }
    return ActorSystem.from_dict(data)


def py(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


# -- on_init -------------------------------------------------------------------------


def test_on_init_runs_once_before_pools(tmp_path):
    marker = tmp_path / "init.txt"
    s = system(
        tmp_path,
        on_init={
            "command": py(f"import os; open({str(marker)!r}, 'a').write(os.environ['INIT_VAR'])"),
            "env": {"init_var": "warm"},
        },
    )
    s.start()
    try:
        assert marker.read_text() == "warm"
        pool = s.new_pool("p", {"num_workers": 1})
        assert pool.exec(Payload(b"x")).body == b"x"
        assert marker.read_text() == "warm"  # not run again
    finally:
        s.stop(timeout=3)


def test_on_init_failure_is_logged_and_server_continues(tmp_path):
    import json

    log_file = tmp_path / "rr.log"
    s = ActorSystem.from_dict(
        {
            "server": {
                "command": worker_cmd("echo"),
                "on_init": {"command": py("import sys; print('oops'); sys.exit(3)")},
            },
            "logs": {
                "level": "info",
                "mode": "production",
                "encoding": "json",
                "output": str(log_file),
            },
        }
    )
    s.start()
    try:
        assert s.new_pool("p", {"num_workers": 1}).exec(Payload(b"y")).body == b"y"
    finally:
        s.stop(timeout=3)
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    (rec,) = [r for r in lines if r["msg"] == "on_init was finished with errors"]
    assert rec["level"] == "error"
    assert "exited with status 3" in rec["error"]
    assert "oops" in rec["error"]  # its output is quoted
    assert any(r["msg"] == "oops" and r["logger"] == "init" for r in lines)


def test_on_init_exit_on_error_stops_startup(tmp_path):
    s = system(
        tmp_path,
        on_init={"command": py("import sys; sys.exit(2)"), "exit_on_error": True},
    )
    with pytest.raises(StartupError, match=r"on_init failed.*exited with status 2"):
        s.start()


def test_on_init_timeout_kills_it(tmp_path):
    s = system(
        tmp_path,
        on_init={
            "command": py("import time; time.sleep(30)"),
            "exec_timeout": "500ms",
            "exit_on_error": True,
        },
    )
    t0 = time.monotonic()
    with pytest.raises(StartupError, match="killed by timeout"):
        s.start()
    assert time.monotonic() - t0 < 10


def test_on_init_missing_command_is_named(tmp_path):
    s = system(tmp_path, on_init={"command": "no-such-init-xyz", "exit_on_error": True})
    with pytest.raises(StartupError, match='"no-such-init-xyz": executable file not found'):
        s.start()


# -- relays --------------------------------------------------------------------------------


def test_tcp_relay_port_in_use_is_clear(tmp_path):
    import socket

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        s = system(tmp_path, relay=f"tcp://127.0.0.1:{port}")
        with pytest.raises(StartupError, match="in use"):
            s.start()
    finally:
        busy.close()


def test_stale_unix_socket_is_replaced(tmp_path):
    import socket

    d = tempfile.mkdtemp(prefix="gr-")
    path = os.path.join(d, "rr.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()  # the file stays behind, like after a crash
    s = system(tmp_path, relay=f"unix://{path}")
    s.start()
    try:
        assert s.new_pool("p", {"num_workers": 1}).exec(Payload(b"u")).body == b"u"
    finally:
        s.stop(timeout=3)
        shutil.rmtree(d, ignore_errors=True)
    assert not os.path.exists(path), "the socket file is removed on stop"


def test_worker_that_never_connects_times_out(tmp_path):
    s = system(tmp_path, relay=f"tcp://127.0.0.1:{free_port()}")
    s.start()
    try:
        with pytest.raises(AllocateError, match="never connected"):
            s.new_pool(
                "p",
                {
                    "num_workers": 1,
                    "allocate_timeout": "1s",
                    "command": py("import time; time.sleep(30)"),
                },
            )
    finally:
        s.stop(timeout=3)


# -- user / group ------------------------------------------------------------------------


def _world_readable_worker() -> tuple[str, list[str]]:
    """Copy the SDK and a pid worker somewhere the ``nobody`` user can read."""
    d = tempfile.mkdtemp(prefix="gr-user-")
    shutil.copytree(REPO / "relays", Path(d) / "relays")
    script = Path(d) / "w.py"
    script.write_text(
        "import os, sys\n"
        f"sys.path.insert(0, {d!r})\n"
        "from relays.worker import Worker\n"
        "from relays import Payload\n"
        "w = Worker.create()\n"
        "while w.wait_payload() is not None:\n"
        "    w.respond(Payload(str(os.getpid()).encode()))\n"
    )
    for dirpath, _dirnames, filenames in os.walk(d):
        os.chmod(dirpath, 0o755)
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), 0o644)
    return d, ["/usr/bin/python3", str(script)]


def _status_ids(pid: int) -> tuple[str, str]:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    uid = next(line for line in status if line.startswith("Uid:")).split()[1]
    gid = next(line for line in status if line.startswith("Gid:")).split()[1]
    return uid, gid


@pytest.mark.skipif(os.geteuid() != 0, reason="switching user needs root")
@pytest.mark.skipif(not os.access("/usr/bin/python3", os.X_OK), reason="needs a system python3")
def test_user_and_group_are_applied(tmp_path):
    import grp
    import pwd

    nobody = pwd.getpwnam("nobody")
    group = grp.getgrgid(nobody.pw_gid).gr_name
    d, cmd = _world_readable_worker()
    s = ActorSystem.from_dict(
        {"server": {"command": cmd, "user": "nobody", "group": group}, "logs": {"level": "error"}}
    )
    s.start()
    try:
        pool = s.new_pool("p", {"num_workers": 1})
        pid = int(pool.exec(Payload(b"x")).body)
        assert _status_ids(pid) == (str(nobody.pw_uid), str(nobody.pw_gid))
    finally:
        s.stop(timeout=3)
        shutil.rmtree(d, ignore_errors=True)


def test_unknown_user_is_a_startup_error(tmp_path):
    s = system(tmp_path, user="no-such-user-xyz")
    with pytest.raises(StartupError, match="unknown user 'no-such-user-xyz'"):
        s.start()


def test_unknown_group_is_a_startup_error(tmp_path):
    s = system(tmp_path, group="no-such-group-xyz")
    with pytest.raises(StartupError, match="unknown group 'no-such-group-xyz'"):
        s.start()


# -- the CLI ------------------------------------------------------------------------------


@pytest.mark.slow
def test_sigterm_drains_and_exits_zero(tmp_path):
    port = free_port()
    cfg = tmp_path / "rr.yaml"
    cfg.write_text(
        textwrap.dedent(
            f"""
            version: "3"
            server:
              command: "{sys.executable} {WORKERS}/sleep.py"
            http:
              address: 127.0.0.1:{port}
              pool:
                num_workers: 2
                destroy_timeout: 10s
            logs:
              level: info
              mode: production
            """
        )
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "actors.main", "serve", "-c", str(cfg)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        import http.client

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(children(proc.pid)) < 2:
            time.sleep(0.1)
        workers = children(proc.pid)
        assert len(workers) == 2
        for _ in range(50):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.connect()
                break
            except OSError:
                time.sleep(0.1)
        conn.request("POST", "/", body=b"1")  # the worker sleeps 1 s
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        resp = conn.getresponse()
        assert resp.status == 200 and resp.read() == b"slept"
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = proc.stdout.read().decode()
    assert "stop signal received" in out
    time.sleep(0.2)
    assert not [p for p in workers if alive(p)], "no worker outlives the server"


@pytest.mark.slow
def test_worker_stderr_is_forwarded_whole(tmp_path):
    import json

    log_file = tmp_path / "rr.log"
    s = ActorSystem.from_dict(
        {
            "server": {"command": worker_cmd("stderr_burst")},
            "logs": {
                "level": "info",
                "mode": "production",
                "encoding": "json",
                "output": str(log_file),
            },
        }
    )
    s.start()
    try:
        pool = s.new_pool("p", {"num_workers": 1})
        (pid,) = [w["pid"] for w in pool.workers()]
        assert pool.exec(Payload(b"go")).body == b"done"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "split line" not in log_file.read_text():
            time.sleep(0.05)
    finally:
        s.stop(timeout=3)
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    worker_lines = [r["msg"] for r in lines if r.get("pid") == pid and r["logger"] == "server"]
    assert worker_lines[0] == "L" * (100 * 1024), "a long line arrives whole"
    assert worker_lines[1:10_001] == [f"line {i}" for i in range(10_000)]
    assert worker_lines[10_001] == "bad bytes \\xff\\xfe end"
    assert worker_lines[10_002] == "split line"


def _run_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "actors.main", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_cli_config_error_names_file_line_and_key(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(
        'version: "3"\nserver:\n  command: "php w.php"\nhttp:\n  address: 127.0.0.1:1\n'
        "  pool:\n    num_workers: four\n"
    )
    out = _run_cli("serve", "-c", str(cfg))
    assert out.returncode == 1
    assert "bad.yaml:7:" in out.stderr and "http.pool.num_workers" in out.stderr


def test_cli_missing_config_file(tmp_path):
    out = _run_cli(str(tmp_path / "nope.yaml"))
    assert out.returncode == 1
    assert "nope.yaml" in out.stderr and "does not exist" in out.stderr


def test_cli_missing_worker_command_is_named(tmp_path):
    cfg = tmp_path / "rr.yaml"
    cfg.write_text(
        f'version: "3"\nserver:\n  command: "no-such-php-xyz worker.php"\n'
        f"http:\n  address: 127.0.0.1:{free_port()}\n  pool:\n    num_workers: 1\n"
    )
    out = _run_cli("-c", str(cfg))
    assert out.returncode == 1
    assert '"no-such-php-xyz": executable file not found' in out.stderr


def test_cli_http_port_in_use(tmp_path):
    import socket

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    cfg = tmp_path / "rr.yaml"
    cfg.write_text(
        f'version: "3"\nserver:\n  command: "{sys.executable} {WORKERS}/echo.py"\n'
        f"http:\n  address: 127.0.0.1:{port}\n  pool:\n    num_workers: 1\n"
    )
    try:
        out = _run_cli("-c", str(cfg))
    finally:
        busy.close()
    assert out.returncode == 1
    assert f"127.0.0.1:{port}" in out.stderr and "http.address" in out.stderr


def test_stop_leaves_no_actor_running(tmp_path):
    import gevent
    import pykka

    before = set(pykka.ActorRegistry.get_all())
    s = ActorSystem.from_dict(
        {
            "server": {"command": worker_cmd("echo")},
            "http": {
                "address": f"127.0.0.1:{free_port()}",
                "pool": {"num_workers": 2, "supervisor": {"ttl": "1h"}},
            },
            "logs": {"level": "error"},
        }
    )
    s.start()
    pool = s.new_pool("extra", {"num_workers": 1, "max_jobs": 1})
    pool.exec(Payload(b"x"))
    assert len(set(pykka.ActorRegistry.get_all()) - before) >= 5
    s.stop(timeout=5)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and set(pykka.ActorRegistry.get_all()) - before:
        gevent.sleep(0.05)
    assert set(pykka.ActorRegistry.get_all()) - before == set()


def test_orphaned_grandchildren_are_reaped(tmp_path):
    port = free_port()
    cfg = tmp_path / "rr.yaml"
    cfg.write_text(
        f'version: "3"\nserver:\n  command: "{sys.executable} {WORKERS}/forker.py"\n'
        f"http:\n  address: 127.0.0.1:{port}\n  pool:\n    num_workers: 1\n"
        "logs:\n  level: error\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "actors.main", "-c", str(cfg)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import http.client

        grandchildren = []
        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", "/")
                grandchildren.append(int(conn.getresponse().read()))
                break
            except OSError:
                time.sleep(0.1)
        for _ in range(4):
            conn.request("GET", "/")
            grandchildren.append(int(conn.getresponse().read()))
        # The orphans were adopted by the server (a child subreaper), not by init.
        parents = {ppid(g) for g in grandchildren if state(g) not in (None, "Z")}
        assert parents <= {proc.pid}
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(state(g) is not None for g in grandchildren):
            time.sleep(0.05)
        assert [g for g in grandchildren if state(g) is not None] == [], "zombies left"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_rr_rpc_reaches_worker_when_rpc_is_configured(tmp_path):
    import json

    s = ActorSystem.from_dict(
        {
            "server": {"command": worker_cmd("env")},
            "rpc": {"listen": "tcp://127.0.0.1:6001"},
            "logs": {"level": "error"},
        }
    )
    s.start()
    try:
        env = json.loads(s.new_pool("p", {"num_workers": 1}).exec(Payload(b"x")).body)
    finally:
        s.stop(timeout=3)
    assert env["RR_RPC"] == "tcp://127.0.0.1:6001"
    assert env["RR_RELAY"] == "pipes"
