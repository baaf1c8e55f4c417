"""HTTP throughput and CPU: Greenrunner against gunicorn and a bare front, same app, same run.

Three servers answer the WSGI hello (``bench/hello_app.py``, ``Hello, World!``) on 127.0.0.1:

- **gunicorn** with 2 sync workers (``shared/baselines/run_gunicorn.sh``'s setup), the
  throughput baseline (goal: ratio >= 1.0, p99 no higher than gunicorn's);
- **greenrunner** (``python -m actors.main`` with a generated ``.rr.yaml``, 2 workers
  running ``python -m relays.wsgi bench.hello_app:app``);
- **bare**: ``bench/bare_front.py``, a gevent StreamServer with httptools answering the same
  bytes in-process, the CPU floor of any gevent HTTP front (goal: Greenrunner's server
  process spends at most 3x its CPU per request).

All are started, checked to answer ``Hello, World!``, warmed up, then measured with
``wrk --latency`` in alternating rounds (gunicorn r1, greenrunner r1, bare r1, gunicorn r2,
...) so that machine noise hits them alike; only ratios from one run are meaningful.  Around
each measured run the CPU time of each server's main process and of its whole process tree is
read from ``/proc/PID/stat``: ``front us/req`` is the main process (Greenrunner's hub,
gunicorn's idle arbiter), ``total us/req`` adds the workers.

    python bench/http.py [--duration 10] [--rounds 3] [--connections 32] [--threads 2]

Needs ``wrk`` (``apt-get install -y wrk``) and gunicorn in this interpreter
(``pip install gunicorn``; it is not a project dependency).  Exit status: 0 done, 1 a server
or wrk failed, 2 a tool is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
# ``python bench/http.py`` puts bench/ first on sys.path, where this file would
# shadow the stdlib ``http`` package for anything importing ``http.client``.
if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == HERE:
    del sys.path[0]
sys.path.insert(0, str(HERE.parent))

from bench.harness import (  # noqa: E402  (after the sys.path fix above)
    BenchError,
    CpuUse,
    Server,
    WrkResult,
    alternate,
    check_positive,
    free_port,
    greenrunner_argv,
    median,
    median_row,
    stop_on_sigterm,
    table_header,
    table_row,
    wrk_options,
)

APP = "bench.hello_app:app"
#: Goal of issue 13: Greenrunner's front process at most this many times the bare front's CPU.
CPU_GOAL = 3.0


def greenrunner_server(tmp: Path, workers: int, http: str = "") -> Server:
    """Greenrunner with a generated .rr.yaml: the wsgi adapter, ``workers`` workers, logs warn
    (``http``: extra lines for the http section)."""
    port = free_port()
    command = shlex.join([sys.executable, "-m", "relays.wsgi", APP])
    argv = greenrunner_argv(tmp, command, port, workers=workers, http=http)
    return Server("greenrunner", argv, port, tmp / "greenrunner.log")


def gunicorn_server(tmp: Path, workers: int) -> Server:
    """gunicorn with ``workers`` sync workers, as ``shared/baselines/run_gunicorn.sh`` runs it."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        str(workers),
        "-k",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        APP,
    ]
    return Server("gunicorn", argv, port, tmp / "gunicorn.log")


# ---------------------------------------------------------------- report


def bare_server(tmp: Path) -> Server:
    """``bench/bare_front.py``: the in-process gevent + httptools hello, the CPU floor."""
    port = free_port()
    argv = [sys.executable, str(HERE / "bare_front.py"), str(port)]
    return Server("bare", argv, port, tmp / "bare.log")


def check_tools() -> str | None:
    """The wrk path, or None after telling the user what to install."""
    wrk = shutil.which("wrk")
    if wrk is None:
        print(
            "http bench: wrk is not installed; install it with:\n    apt-get install -y wrk",
            file=sys.stderr,
        )
        return None
    probe = subprocess.run(
        [sys.executable, "-c", "import gunicorn"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        print(
            f"http bench: gunicorn is not installed in {sys.executable}; install it with:\n"
            f"    {sys.executable} -m pip install gunicorn\n"
            "(the baseline only: it is not a Greenrunner dependency)",
            file=sys.stderr,
        )
        return None
    return wrk


def bench(wrk: str, a: argparse.Namespace) -> float:
    """Start the servers, measure alternating rounds, print tables; return the req/s ratio."""
    names = ["gunicorn", "greenrunner", "bare"]
    results: dict[str, list[tuple[WrkResult, CpuUse]]] = {n: [] for n in names}
    with (
        tempfile.TemporaryDirectory(prefix="greenrunner-httpbench-") as tmp_name,
        contextlib.ExitStack() as stack,
    ):
        tmp = Path(tmp_name)
        servers = [
            gunicorn_server(tmp, a.workers),
            greenrunner_server(tmp, a.workers),
            bare_server(tmp),
        ]
        for s in servers:
            stack.callback(s.stop)  # registered first: stopped even if start() fails half-way
            s.start()
        for r in alternate(wrk, servers, a, results):
            print(f"round {r}")
            print(table_header())
            for n in names:
                print(table_row(n, *results[n][-1]))
            (g, _), (o, oc), (_, bc) = (results[n][-1] for n in names)
            print(
                f"  ratio {o.rps / g.rps:.2f}; front CPU greenrunner/bare "
                f"{oc.main_us / bc.main_us:.2f}x",
                flush=True,
            )
        for s in servers:  # warnings a server logged during the run are worth seeing
            tail = s.log_tail(10)
            if tail.strip():
                print(f"  {s.name} log (last lines):\n    " + tail.replace("\n", "\n    "))
    print(f"median of {a.rounds} rounds (errors and requests: totals)")
    print(table_header())
    for n in names:
        print(median_row(n, results[n]))
    g_runs, o_runs, b_runs = (results[n] for n in names)
    ratio = median([r.rps for r, _ in o_runs]) / median([r.rps for r, _ in g_runs])
    o_us = median([c.main_us for _, c in o_runs])
    b_us = median([c.main_us for _, c in b_runs])
    p99_g = median([r.p99_ms for r, _ in g_runs])
    p99_o = median([r.p99_ms for r, _ in o_runs])
    errors = sum(r.errors for rs in results.values() for r, _ in rs)
    print(
        f"ratio greenrunner/gunicorn on median req/s: {ratio:.2f} "
        f"(goal >= 1.0: {'met' if ratio >= 1.0 else 'not met'})"
        + (f"; WARNING: {errors} errors, figures are suspect" if errors else "")
    )
    print(
        f"p99 greenrunner {p99_o:.2f} ms, gunicorn {p99_g:.2f} ms "
        f"(goal: no higher: {'met' if p99_o <= p99_g else 'not met'})"
    )
    print(
        f"front CPU per request: greenrunner {o_us:.1f} us, bare gevent+httptools "
        f"{b_us:.1f} us, {o_us / b_us:.2f}x (goal <= {CPU_GOAL:g}x and <= 45 us: "
        f"{'met' if o_us / b_us <= CPU_GOAL and o_us <= 45 else 'not met'})"
    )
    return ratio


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    wrk_options(ap, per="server", warmup=3)
    ap.add_argument("--workers", type=int, default=2, help="worker processes per server (2)")
    a = ap.parse_args(argv)
    check_positive(ap, a, "duration", "rounds", "connections", "threads", "warmup", "workers")
    wrk = check_tools()
    if wrk is None:
        return 2
    stop_on_sigterm()
    print(
        f"http bench: WSGI hello ({APP}), {a.workers} workers per server (bare: none), "
        f"wrk -t{a.threads} -c{a.connections} -d{a.duration}s --latency, {a.rounds} rounds "
        f"(alternating), warm-up {a.warmup}s, {os.cpu_count()} CPUs shared with wrk"
    )
    try:
        bench(wrk, a)
    except BenchError as exc:
        print(f"http bench: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
