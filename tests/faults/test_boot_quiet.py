"""A pool whose workers cannot boot stops the server with one clean line, no tracebacks.

Each worker used to start in a greenlet that died of the AllocateError, so gevent's hub
printed ``<Greenlet at 0x..: start_worker(...)> failed with AllocateError`` and a raw
traceback before the one-line ``greenrunner: cannot start: ...``.
"""

from __future__ import annotations

import subprocess
import sys

from tests.support.procs import free_port
from tests.support.workers import REPO, WORKERS


def test_startup_failure_prints_one_clean_line(tmp_path):
    flag = tmp_path / "fail"
    flag.write_text("")
    cfg = tmp_path / "rr.yaml"
    cfg.write_text(
        f'version: "3"\n'
        f'server:\n  command: "{sys.executable} {WORKERS}/flaky_boot.py"\n'
        f"  env:\n    FAIL_FLAG: {flag}\n"
        f"http:\n  address: 127.0.0.1:{free_port()}\n"
        f"  pool:\n    num_workers: 3\n    allocate_timeout: 10s\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "actors.main", "serve", "-c", str(cfg)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1, out.stderr
    lines = [line for line in out.stderr.splitlines() if "greenrunner: cannot start:" in line]
    assert len(lines) == 1, out.stderr
    assert "flaky_boot.py" in lines[0] and "exited with status 1" in lines[0], lines[0]
    assert "Traceback" not in out.stderr, out.stderr
    assert "<Greenlet at" not in out.stderr, out.stderr
