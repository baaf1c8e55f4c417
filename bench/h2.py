"""HTTP/2 against HTTP/1.1: the same Greenrunner server, the same hello app, the same run.

One Greenrunner (``python -m actors.main`` with a generated ``.rr.yaml``: the WSGI adapter
serving ``bench/hello_app.py`` with 2 workers, ``http.http2.h2c: true``) is loaded by ``h2load``
(nghttp2) in alternating rounds: HTTP/1.1 (``--h1``, one request in flight per connection) and
HTTP/2 by prior knowledge (h2c, several streams per connection), both with the same number of
requests in flight.  Prints per-round and median req/s, mean latency and failures, then the
ratio HTTP/2 / HTTP/1.1 on median req/s.

    python bench/h2.py [--duration 10] [--rounds 3] [--inflight 32] [--h2-connections 4]

Needs ``h2load`` (``apt-get install -y nghttp2-client``).  Exit status: 0 done, 1 the server or
h2load failed, 2 h2load is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# ``python bench/h2.py`` puts bench/ first on sys.path, where this file would shadow the ``h2``
# library (and bench/http.py the stdlib ``http``).
if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == HERE:
    del sys.path[0]
sys.path.insert(0, str(ROOT))

from bench.harness import stop_on_sigterm  # noqa: E402
from bench.http import BenchError, Server, greenrunner_server  # noqa: E402


@dataclass(frozen=True)
class H2loadResult:
    """What one h2load run says; failures are kept apart so a fast-but-failing run shows."""

    requests: int
    rps: float
    mean_ms: float
    failed: int
    non_2xx: int

    @property
    def errors(self) -> int:
        return self.failed + self.non_2xx


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_h2load(output: str) -> H2loadResult:
    """Read req/s, done/failed/errored, 2xx and the mean request time from h2load's output."""
    rps = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", output)
    counts = re.search(
        r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, "
        r"(\d+) errored, (\d+) timeout",
        output,
    )
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", output)
    latency = re.search(r"time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)\s", output)
    if not (rps and counts and codes and latency):
        raise BenchError(f"unexpected h2load output:\n{output}")
    done = int(counts.group(2))
    return H2loadResult(
        requests=done,
        rps=float(rps.group(1)),
        mean_ms=float(latency.group(1)) * _UNITS_MS[latency.group(2)],
        failed=int(counts.group(4)) + int(counts.group(5)) + int(counts.group(6)),
        non_2xx=done - int(codes.group(1)),
    )


def run_h2load(h2load: str, url: str, args: list[str], seconds: int) -> H2loadResult:
    argv = [h2load, *args, "-D", str(seconds), url]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        raise BenchError(f"h2load did not finish: {' '.join(argv)}") from None
    if done.returncode != 0:
        raise BenchError(f"h2load failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_h2load(done.stdout)


HEADER = f"  {'protocol':<10} {'req/s':>9} {'mean ms':>8} {'errors':>7} {'requests':>9}"


def _row(name: str, r: H2loadResult) -> str:
    return f"  {name:<10} {r.rps:>9.0f} {r.mean_ms:>8.2f} {r.errors:>7} {r.requests:>9}"


def bench(h2load: str, a: argparse.Namespace) -> float:
    """Start the server, measure alternating rounds, print tables; return the ratio h2/h1."""
    # Same requests in flight on both: h1 one per connection, h2 spread over a few connections.
    streams = max(1, a.inflight // a.h2_connections)
    loads = {
        "HTTP/1.1": ["--h1", "-c", str(a.inflight), "-t", "1"],
        "HTTP/2": ["-c", str(a.h2_connections), "-m", str(streams), "-t", "1"],
    }
    results: dict[str, list[H2loadResult]] = {name: [] for name in loads}
    with tempfile.TemporaryDirectory(prefix="greenrunner-h2bench-") as tmp_name:
        tmp = Path(tmp_name)
        server: Server = greenrunner_server(tmp, a.workers, http="  http2:\n    h2c: true\n")
        try:
            server.start()
            server.wait_ready()
            print(f"  greenrunner pid {server.proc.pid if server.proc else '?'}, {server.url}")
            for args in loads.values():
                run_h2load(h2load, server.url, args, a.warmup)  # warm-up, discarded
            for r in range(1, a.rounds + 1):
                for name, args in loads.items():
                    results[name].append(run_h2load(h2load, server.url, args, a.duration))
                h1, h2 = results["HTTP/1.1"][-1], results["HTTP/2"][-1]
                print(f"round {r}")
                print(HEADER)
                print(_row("HTTP/1.1", h1))
                print(_row("HTTP/2", h2))
                print(f"  ratio {h2.rps / h1.rps:.2f}", flush=True)
        finally:
            server.stop()
    print(f"median of {a.rounds} rounds ({a.inflight} requests in flight; HTTP/2: "
          f"{a.h2_connections} connections x {streams} streams)")  # fmt: skip
    print(HEADER)
    medians = {}
    for name, rs in results.items():
        medians[name] = statistics.median(r.rps for r in rs)
        errors = sum(r.errors for r in rs)
        mean = statistics.median(r.mean_ms for r in rs)
        print(f"  {name:<10} {medians[name]:>9.0f} {mean:>8.2f} {errors:>7} "
              f"{sum(r.requests for r in rs):>9}")  # fmt: skip
    ratio = medians["HTTP/2"] / medians["HTTP/1.1"]
    errors = sum(r.errors for rs in results.values() for r in rs)
    print(
        f"ratio HTTP/2 / HTTP/1.1 on median req/s: {ratio:.2f}"
        + (f"; WARNING: {errors} errors, figures are suspect" if errors else "")
    )
    return ratio


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=10, help="seconds per h2load round (10)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per protocol (3)")
    ap.add_argument("--inflight", type=int, default=32, help="requests in flight (32)")
    ap.add_argument("--h2-connections", type=int, default=4, help="HTTP/2 connections (4)")
    ap.add_argument("--warmup", type=int, default=3, help="seconds of discarded load (3)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    a = ap.parse_args(argv)
    if min(a.duration, a.rounds, a.inflight, a.h2_connections, a.warmup, a.workers) < 1:
        ap.error("every option must be >= 1")
    h2load = shutil.which("h2load")
    if h2load is None:
        print(
            "h2 bench: h2load is not installed; install it with:\n"
            "    apt-get install -y nghttp2-client",
            file=sys.stderr,
        )
        return 2
    stop_on_sigterm()
    try:
        bench(h2load, a)
    except BenchError as exc:
        print(f"h2 bench failed: {exc}", file=sys.stderr)
        return 1
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
