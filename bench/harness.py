"""What ``bench/http.py`` and ``bench/php.py`` share: wrk runs, servers under test, CPU counters.

Both benchmarks start servers as subprocesses, check they answer the expected body, drive them
with ``wrk --latency`` in alternating rounds and read each server's CPU time from ``/proc``
around the measured run: on a machine shared with other jobs, CPU microseconds per request are
steadier than requests per second.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

READY_TIMEOUT = 30.0  # seconds for a server to answer its first request
STOP_GRACE = 10.0  # seconds between SIGTERM and SIGKILL
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


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

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        port: int,
        log_path: Path,
        *,
        path: str = "/",
        check: Callable[[int, bytes], bool] | None = None,
        cwd: Path = ROOT,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.port = port
        self.path = path
        self.url = f"http://127.0.0.1:{port}{path}"
        self.log_path = log_path
        self.check = check or (lambda status, body: status == 200 and body == b"Hello, World!")
        self.cwd = cwd
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        #: Processes whose CPU is counted as this server's besides ``proc`` itself, when
        #: ``proc`` is not the server (a launcher) or the server's children are not its own.
        self.extra_pids: list[int] = []

    def start(self) -> None:
        """Start from the repo root, so ``bench.hello_app`` imports in the workers."""
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
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
        """Wait until ``GET path`` answers what ``check`` accepts: all must serve the same app."""
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
                conn.request("GET", self.path)
                resp = conn.getresponse()
                body = resp.read()
                if self.check(resp.status, body):
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


# ---------------------------------------------------------------- CPU counters


def _ticks(pid: int) -> int:
    """utime + stime of ``pid`` in clock ticks (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5), after "pid (comm)"


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds of a server's main process and of its whole tree at one moment."""

    main: float
    tree: dict[int, float]


def cpu_sample(server: Server) -> CpuSample:
    """Read the server process's and each descendant's CPU time now."""
    assert server.proc is not None
    main = server.proc.pid
    pids = [main, *server.extra_pids, *descendants(main)]
    for extra in server.extra_pids:
        pids.extend(descendants(extra))
    tree = {pid: _ticks(pid) / _TICK for pid in dict.fromkeys(pids)}
    return CpuSample(main=tree[main], tree=tree)


@dataclass(frozen=True)
class CpuUse:
    """CPU microseconds per request over one measured run: the front process and everything."""

    main_us: float
    tree_us: float


def cpu_per_request(before: CpuSample, after: CpuSample, requests: int) -> CpuUse:
    """Microseconds of CPU per request between two samples.

    A process present in both samples counts its difference; one that appeared during the
    run (a replaced worker) counts whole; one that left is lost (its last figures were not
    read), which only understates, and only when workers are replaced mid-run.
    """
    n = max(requests, 1)
    tree = sum(t - before.tree.get(pid, 0.0) for pid, t in after.tree.items())
    return CpuUse(main_us=(after.main - before.main) / n * 1e6, tree_us=tree / n * 1e6)


def measure(
    server: Server, wrk: str, threads: int, connections: int, seconds: int
) -> tuple[WrkResult, CpuUse]:
    """One measured wrk run against ``server`` with its CPU use per request."""
    before = cpu_sample(server)
    result = run_wrk(wrk, server.url, threads, connections, seconds)
    after = cpu_sample(server)
    return result, cpu_per_request(before, after, result.requests)


def alternate(
    wrk: str,
    servers: Sequence[Server],
    a: argparse.Namespace,
    results: dict[str, list[tuple[WrkResult, CpuUse]]],
) -> Iterator[int]:
    """Wait for each started server, warm each up, then measure them in turn, ``a.rounds``
    times: yields each round's number once every server has its row in ``results``.

    A server that exited is reported with its log's tail before the error goes on.
    """
    try:
        for s in servers:
            s.wait_ready()
            assert s.proc is not None
            print(f"  {s.name:<12} pid {s.proc.pid}, {s.url}")
        for s in servers:
            run_wrk(wrk, s.url, a.threads, a.connections, a.warmup)  # warm-up, discarded
        for r in range(1, a.rounds + 1):
            for s in servers:
                results[s.name].append(measure(s, wrk, a.threads, a.connections, a.duration))
            yield r
    except BenchError:
        for s in servers:
            if s.proc is not None and s.proc.poll() is not None:
                print(f"{s.name} exited {s.proc.returncode}:\n{s.log_tail()}", file=sys.stderr)
        raise


def median(values: Sequence[float]) -> float:
    """The median (a named helper so the tables read alike)."""
    return float(statistics.median(values))


def greenrunner_argv(
    tmp: Path, command: str, port: int, *, workers: int, http: str = "", pool: str = ""
) -> list[str]:
    """Write ``tmp/.rr.yaml`` (``server.command``, http on 127.0.0.1:``port`` with ``workers``
    workers, logs at warn) and return the argv that serves it from the repo root.

    ``http`` and ``pool`` are extra YAML lines for those sections, already indented.  JSON
    strings are valid YAML scalars, so the command needs no hand-quoting.
    """
    (tmp / ".rr.yaml").write_text(
        f'version: "3"\nserver:\n  command: {json.dumps(command)}\n'
        f"http:\n  address: 127.0.0.1:{port}\n{http}  pool:\n    num_workers: {workers}\n{pool}"
        "logs:\n  level: warn\n"
    )
    return [
        *(sys.executable, "-m", "actors.main", "serve", "-c", str(tmp / ".rr.yaml")),
        *("-w", str(ROOT)),
    ]


# ---------------------------------------------------------------- result tables


def table_header(front: bool = True) -> str:
    """The header line of a result table (one row per server and round, then medians)."""
    cpu = f"{'front us/req':>12} {'total us/req':>12}" if front else f"{'cpu us/req':>10}"
    return (
        f"  {'server':<12} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'sock err':>8} "
        f"{'non-2xx':>7} {'requests':>9} {cpu}"
    )


def table_row(name: str, r: WrkResult, c: CpuUse, front: bool = True) -> str:
    """One round of one server."""
    cpu = f"{c.main_us:>12.1f} {c.tree_us:>12.1f}" if front else f"{c.tree_us:>10.1f}"
    return (
        f"  {name:<12} {r.rps:>9.0f} {r.p50_ms:>7.2f} {r.p99_ms:>7.2f} {r.socket_errors:>8d} "
        f"{r.non_2xx:>7d} {r.requests:>9d} {cpu}"
    )


def median_row(name: str, runs: list[tuple[WrkResult, CpuUse]], front: bool = True) -> str:
    """The medians of a server's rounds (errors and requests: totals)."""
    rs = [r for r, _ in runs]
    main, tree = median([c.main_us for _, c in runs]), median([c.tree_us for _, c in runs])
    cpu = f"{main:>12.1f} {tree:>12.1f}" if front else f"{tree:>10.1f}"
    return (
        f"  {name:<12} {median([r.rps for r in rs]):>9.0f} "
        f"{median([r.p50_ms for r in rs]):>7.2f} {median([r.p99_ms for r in rs]):>7.2f} "
        f"{sum(r.socket_errors for r in rs):>8d} {sum(r.non_2xx for r in rs):>7d} "
        f"{sum(r.requests for r in rs):>9d} {cpu}"
    )


def stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so that a bench stopped from outside still stops the
    servers it started (their ``finally`` blocks run)."""

    def _terminate(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _terminate)


def wrk_options(ap: argparse.ArgumentParser, *, per: str, warmup: int = 3) -> None:
    """The wrk load options every wrk-driven bench takes (``per``: what a round is per)."""
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk round (10)")
    ap.add_argument("--rounds", type=int, default=3, help=f"rounds per {per} (3)")
    ap.add_argument("--connections", type=int, default=32, help="wrk -c (32)")
    ap.add_argument("--threads", type=int, default=2, help="wrk -t (2)")
    ap.add_argument(
        "--warmup", type=int, default=warmup, help=f"seconds of discarded wrk load ({warmup})"
    )


def check_positive(ap: argparse.ArgumentParser, a: argparse.Namespace, *names: str) -> None:
    """Refuse an option below 1 among ``names``, and more wrk threads than connections."""
    if min(getattr(a, name) for name in names) < 1:
        ap.error("every option must be >= 1")
    if a.threads > a.connections:
        ap.error("wrk needs --connections >= --threads")
