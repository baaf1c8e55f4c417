"""Instructions per request in the server process, counted by valgrind's callgrind.

CPU time per request moves by 2x on a machine shared with other jobs (preemption, caches,
how many requests each loop iteration finds); the number of instructions the server process
executes per request does not, so it is the figure to compare before and after a change.
Three servers answer the hello, one at a time, each under callgrind (user-space instructions
only; the kernel's share of a syscall is not counted):

- **bare**: ``bench/bare_front.py``, gevent + httptools in-process (the floor);
- **front**: ``bench/front_only.py``, Greenrunner's HTTP/1.1 front with an in-process handler;
- **greenrunner**: the whole server (``python -m actors.main``) with 2 WSGI workers
  (``bench.hello_app:app``), the workers themselves not counted.

Each is warmed up, its counters zeroed (``callgrind_control -z``), sent exactly
``--requests`` requests by ``bench/counted_client.py`` (one connection by default: every
request takes the whole path alone; ``--connections 32`` keeps 32 requests queued, the
saturated hub of ``bench/http.py``), then dumped; the instructions are divided by the count.
A fixed count rather than wrk's ``-d`` makes two runs of the same code agree within about 1 %:
under valgrind the server runs 30-50x slower than its clients, and how many requests a wrk
run fits changed which path they took.

    python bench/instructions.py [--requests 2000] [--connections 1] [--only greenrunner]

Needs ``valgrind`` and ``wrk`` (``apt-get install -y valgrind wrk``; wrk only checks the
servers up).  A run takes about 2 minutes.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == HERE:
    del sys.path[0]  # bench/http.py would shadow the stdlib http package
sys.path.insert(0, str(HERE.parent))

from bench.harness import BenchError, Server, free_port, greenrunner_argv, run_wrk  # noqa: E402

NAMES = ("bare", "front", "greenrunner")


def _server(name: str, tmp: Path, out: Path) -> Server:
    port = free_port()
    grind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
    if name == "bare":
        argv = [sys.executable, str(HERE / "bare_front.py"), str(port)]
    elif name == "front":
        argv = [sys.executable, str(HERE / "front_only.py"), str(port)]
    else:
        command = shlex.join([sys.executable, "-m", "relays.wsgi", "bench.hello_app:app"])
        pool = "    allocate_timeout: 600s\n"
        argv = greenrunner_argv(tmp, command, port, workers=2, pool=pool)
    return Server(name, grind + argv, port, tmp / f"{name}.log")


def _total(files: list[Path]) -> int:
    for f in files:
        for line in f.read_text(errors="replace").splitlines():
            if line.startswith("totals:") or line.startswith("summary:"):
                return int(line.split()[1])
    raise BenchError(f"no callgrind totals in {[str(f) for f in files]}")


def measure(name: str, tmp: Path, wrk: str, requests: int, connections: int = 1) -> tuple[int, int]:
    """(requests, instructions) of one server between two callgrind_control calls."""
    out = tmp / f"callgrind.{name}"
    server = _server(name, tmp, out)
    server.start()
    try:
        server.wait_ready(timeout=300)
        assert server.proc is not None
        pid = str(server.proc.pid)
        run_wrk(wrk, server.url, 1, 1, 3)  # warm-up: caches, the first requests' imports
        subprocess.run(["callgrind_control", "-z", pid], check=True, capture_output=True)
        client = [sys.executable, str(HERE / "counted_client.py"), str(server.port)]
        done = subprocess.run(
            [*client, str(requests), str(connections)], capture_output=True, text=True
        )
        subprocess.run(["callgrind_control", "-d", pid], check=True, capture_output=True)
    finally:
        server.stop()
    if done.returncode != 0:
        raise BenchError(f"{name}: the counted client failed: {done.stderr or done.stdout}")
    return requests, _total(sorted(tmp.glob(f"callgrind.{name}.*")))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=2000, help="requests per server (2000)")
    ap.add_argument("--only", choices=NAMES, action="append", help="measure only these")
    ap.add_argument(
        "--connections",
        type=int,
        default=1,
        help="client connections (1: every request takes the whole path alone; 32: a saturated "
        "hub, which batches, as under bench/http.py)",
    )
    a = ap.parse_args(argv)
    wrk = shutil.which("wrk")
    if wrk is None or shutil.which("valgrind") is None:
        print("instructions bench: needs wrk and valgrind: apt-get install -y wrk valgrind")
        return 2
    per: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="greenrunner-instr-") as tmp_name:
        for name in a.only or NAMES:
            try:
                requests, ir = measure(name, Path(tmp_name), wrk, a.requests, a.connections)
            except BenchError as exc:
                print(f"instructions bench: {exc}", file=sys.stderr)
                return 1
            per[name] = ir / max(requests, 1)
            print(
                f"  {name:<12} {requests:>6d} requests {ir:>14,d} instructions "
                f"{per[name]:>10,.0f} per request",
                flush=True,
            )
    if "bare" in per:
        for name in ("front", "greenrunner"):
            if name in per:
                print(f"  {name} / bare: {per[name] / per['bare']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
