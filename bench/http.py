"""HTTP throughput: Greenrunner against gunicorn, the same WSGI hello app, same run.

Both servers serve ``bench/hello_app.py`` with 2 worker processes on
127.0.0.1: Greenrunner (``python -m actors.main`` with a generated
``.rr.yaml``, workers running ``python -m relays.wsgi bench.hello_app:app``)
and gunicorn with 2 sync workers (``shared/baselines/run_gunicorn.sh``'s
setup).  Both are started, checked to answer ``Hello, World!``, warmed up,
then measured with ``wrk --latency`` in alternating rounds (gunicorn r1,
greenrunner r1, gunicorn r2, ...) so that machine noise hits both alike;
only the ratio from one run is meaningful.

    python bench/http.py [--duration 10] [--rounds 3] [--connections 32] [--threads 2]

Needs ``wrk`` (``apt-get install -y wrk``) and gunicorn in this interpreter
(``pip install gunicorn``; it is not a project dependency).  Prints a table
per round, the medians and the ratio ours / gunicorn on median req/s
(goal: >= 1.0).  Exit status: 0 done, 1 a server or wrk failed, 2 a tool is
missing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# ``python bench/http.py`` puts bench/ first on sys.path, where this file would
# shadow the stdlib ``http`` package for anything importing ``http.client``.
if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == HERE:
    del sys.path[0]

APP = "bench.hello_app:app"
EXPECTED_BODY = b"Hello, World!"
READY_TIMEOUT = 30.0  # seconds for a server to answer its first request
STOP_GRACE = 10.0  # seconds between SIGTERM and SIGKILL


class BenchError(Exception):
    """A server did not start or answer, or wrk failed: the run cannot be trusted."""


# ---------------------------------------------------------------- wrk output


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run says; errors are kept apart so a fast-but-failing server shows."""

    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    socket_errors: int
    non_2xx: int

    @property
    def errors(self) -> int:
        """Socket errors plus non-2xx/3xx answers: anything that is not a good response."""
        return self.socket_errors + self.non_2xx


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _duration_ms(text: str) -> float:
    """wrk prints latencies as ``812.00us``, ``4.12ms``, ``1.02s``, ``1.50m``."""
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not m:
        raise BenchError(f"cannot read the wrk latency {text!r}")
    return float(m.group(1)) * _UNITS_MS[m.group(2)]


def parse_wrk(output: str) -> WrkResult:
    """Read req/s, p50, p99, socket errors and non-2xx from ``wrk --latency`` output.

    wrk prints the ``Socket errors`` and ``Non-2xx or 3xx responses`` lines
    only when they are not zero, so their absence means 0.
    """
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    total = re.search(r"^\s*(\d+) requests in ", output, re.M)
    p50 = re.search(r"^\s+50(?:\.000)?%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99(?:\.000)?%\s+(\S+)", output, re.M)
    if not (rps and total and p50 and p99):
        raise BenchError(f"unexpected wrk output:\n{output}")
    sock = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        requests=int(total.group(1)),
        rps=float(rps.group(1)),
        p50_ms=_duration_ms(p50.group(1)),
        p99_ms=_duration_ms(p99.group(1)),
        socket_errors=sum(int(g) for g in sock.groups()) if sock else 0,
        non_2xx=int(non2xx.group(1)) if non2xx else 0,
    )


def run_wrk(wrk: str, url: str, threads: int, connections: int, seconds: int) -> WrkResult:
    """One wrk run against ``url``; a wrk failure is an error, not a zero."""
    argv = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk did not finish: {shlex.join(argv)}") from None
    if done.returncode != 0:
        raise BenchError(f"{shlex.join(argv)} exited {done.returncode}:\n{done.stderr}")
    return parse_wrk(done.stdout)


# ---------------------------------------------------------------- servers


def free_port() -> int:
    """A port nobody listens on now (the kernel's pick; racy, but only for a moment)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (Linux /proc; empty elsewhere).

    Greenrunner starts each worker in its own process group, so killing the
    server's group alone would leave workers behind if the server hangs.
    """
    found: list[int] = []
    stack = [pid]
    while stack:
        parent = stack.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{parent}/task/{tid}/children") as fh:
                    kids = [int(k) for k in fh.read().split()]
            except OSError:
                continue
            found.extend(kids)
            stack.extend(kids)
    return found


class Server:
    """A server under test: a subprocess in its own session, its output in a log file."""

    def __init__(self, name: str, argv: Sequence[str], port: int, log_path: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.port = port
        self.url = f"http://127.0.0.1:{port}/"
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start from the repo root, so ``bench.hello_app`` imports in the workers."""
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a terminal's Ctrl+C reaches us, we stop them
            )

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's output, to explain a failure."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait until ``GET /`` answers 200 ``Hello, World!``: both must serve the same app."""
        import http.client

        assert self.proc is not None
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(
                    f"{self.name} exited with status {self.proc.returncode} before answering:\n"
                    f"{self.log_tail()}"
                )
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                conn.request("GET", "/")
                resp = conn.getresponse()
                body = resp.read()
                if resp.status == 200 and body == EXPECTED_BODY:
                    return
                last = f"{resp.status} {body[:80]!r}"
            except OSError as exc:
                last = str(exc)
            finally:
                conn.close()
            time.sleep(0.1)
        raise BenchError(
            f"{self.name} did not answer within {timeout:g}s ({last}):\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """SIGTERM (graceful for both servers), then SIGKILL the server and its children."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_GRACE)
            return
        except subprocess.TimeoutExpired:
            pass
        print(f"  {self.name} did not stop within {STOP_GRACE:g}s: killing it", file=sys.stderr)
        for pid in [*descendants(proc.pid), proc.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def greenrunner_server(tmp: Path, workers: int) -> Server:
    """Greenrunner with a generated .rr.yaml: the wsgi adapter, ``workers`` workers, logs warn."""
    port = free_port()
    command = shlex.join([sys.executable, "-m", "relays.wsgi", APP])
    # JSON strings are valid YAML scalars: the interpreter path needs no hand-quoting.
    (tmp / ".rr.yaml").write_text(
        'version: "3"\n'
        "server:\n"
        f"  command: {json.dumps(command)}\n"
        "http:\n"
        f"  address: 127.0.0.1:{port}\n"
        "  pool:\n"
        f"    num_workers: {workers}\n"
        "logs:\n"
        "  level: warn\n"
    )
    argv = [
        sys.executable,
        "-m",
        "actors.main",
        "serve",
        "-c",
        str(tmp / ".rr.yaml"),
        "-w",
        str(ROOT),
    ]
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


def _row(name: str, r: WrkResult) -> str:
    return (
        f"  {name:<12} {r.rps:>10.0f} {r.p50_ms:>9.2f} {r.p99_ms:>9.2f} "
        f"{r.socket_errors:>10d} {r.non_2xx:>8d} {r.requests:>10d}"
    )


HEADER = (
    f"  {'server':<12} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} "
    f"{'sock err':>10} {'non-2xx':>8} {'requests':>10}"
)


def _median_row(name: str, results: list[WrkResult]) -> str:
    return (
        f"  {name:<12} {statistics.median(r.rps for r in results):>10.0f} "
        f"{statistics.median(r.p50_ms for r in results):>9.2f} "
        f"{statistics.median(r.p99_ms for r in results):>9.2f} "
        f"{sum(r.socket_errors for r in results):>10d} "
        f"{sum(r.non_2xx for r in results):>8d} "
        f"{sum(r.requests for r in results):>10d}"
    )


# ---------------------------------------------------------------- main


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


def _terminate(signum: int, frame: FrameType | None) -> None:
    # Turn SIGTERM into SystemExit so that the servers are stopped on the way out.
    raise SystemExit(128 + signum)


def bench(wrk: str, a: argparse.Namespace) -> float:
    """Start both servers, measure alternating rounds, print tables; return the ratio."""
    results: dict[str, list[WrkResult]] = {"gunicorn": [], "greenrunner": []}
    with (
        tempfile.TemporaryDirectory(prefix="greenrunner-httpbench-") as tmp_name,
        contextlib.ExitStack() as stack,
    ):
        tmp = Path(tmp_name)
        servers = [gunicorn_server(tmp, a.workers), greenrunner_server(tmp, a.workers)]
        for s in servers:
            stack.callback(s.stop)  # registered first: stopped even if start() fails half-way
            s.start()
        try:
            for s in servers:
                s.wait_ready()
                assert s.proc is not None
                print(f"  {s.name:<12} pid {s.proc.pid}, {s.url}")
            for s in servers:
                run_wrk(wrk, s.url, a.threads, a.connections, a.warmup)  # warm-up, discarded
            for r in range(1, a.rounds + 1):
                for s in servers:
                    results[s.name].append(
                        run_wrk(wrk, s.url, a.threads, a.connections, a.duration)
                    )
                g, o = results["gunicorn"][-1], results["greenrunner"][-1]
                print(f"round {r}")
                print(HEADER)
                print(_row("gunicorn", g))
                print(_row("greenrunner", o))
                print(f"  ratio {o.rps / g.rps:.2f}", flush=True)
        except BenchError:
            for s in servers:
                if s.proc is not None and s.proc.poll() is not None:
                    print(f"{s.name} exited {s.proc.returncode}:\n{s.log_tail()}", file=sys.stderr)
            raise
        for s in servers:  # warnings a server logged during the run are worth seeing
            tail = s.log_tail(10)
            if tail.strip():
                print(f"  {s.name} log (last lines):\n    " + tail.replace("\n", "\n    "))
    print(f"median of {a.rounds} rounds (errors and requests: totals)")
    print(HEADER)
    print(_median_row("gunicorn", results["gunicorn"]))
    print(_median_row("greenrunner", results["greenrunner"]))
    mg = statistics.median(r.rps for r in results["gunicorn"])
    mo = statistics.median(r.rps for r in results["greenrunner"])
    ratio = mo / mg
    errors = sum(r.errors for rs in results.values() for r in rs)
    print(
        f"ratio greenrunner/gunicorn on median req/s: {ratio:.2f} "
        f"(goal >= 1.0: {'met' if ratio >= 1.0 else 'not met'})"
        + (f"; WARNING: {errors} errors, figures are suspect" if errors else "")
    )
    return ratio


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk round (10)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per server (3)")
    ap.add_argument("--connections", type=int, default=32, help="wrk -c (32)")
    ap.add_argument("--threads", type=int, default=2, help="wrk -t (2)")
    ap.add_argument("--warmup", type=int, default=3, help="seconds of discarded wrk load (3)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes per server (2)")
    a = ap.parse_args(argv)
    if min(a.duration, a.rounds, a.connections, a.threads, a.warmup, a.workers) < 1:
        ap.error("every option must be >= 1")
    if a.threads > a.connections:
        ap.error("wrk needs --connections >= --threads")
    wrk = check_tools()
    if wrk is None:
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    print(
        f"http bench: WSGI hello ({APP}), {a.workers} workers per server, "
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
