"""Static file throughput: Greenrunner's ``static`` middleware against nginx, same files, same run.

Both serve the same temporary directory on 127.0.0.1 from ONE process each: Greenrunner
(``python -m actors.main`` with ``http.middleware: [static]``; its hub serves the files, the
one worker is never asked) and nginx (``/usr/sbin/nginx`` started by this script with a
temp-dir config, ``daemon off``, ``master_process off``, ``sendfile on``; never as a service).
Each file is measured with ``wrk --latency`` in alternating rounds (nginx r1, greenrunner r1,
...) so machine noise hits both alike; only the ratio from one run is meaningful.

    python bench/static.py [--duration 10] [--rounds 3] [--connections 32] [--threads 2]

Files: ``small.txt`` (4 KiB, served from one read, then from the 1 s small-file cache) and
``large.bin`` (1 MiB, above the small-file size: sent with ``sendfile(2)`` by
``Writer.send_file``, as nginx's ``sendfile on`` does).  Prints a table per round (with each
server's CPU per request, its whole process tree, read from ``/proc``) and the ratio
greenrunner / nginx of median req/s per file.  Needs ``wrk`` and ``nginx`` (``apt-get install -y wrk
nginx``).  Exit status: 0 done, 1 a server or wrk failed, 2 a tool is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

HERE = Path(__file__).resolve().parent
# ``python bench/static.py`` puts bench/ first on sys.path, where bench/http.py would shadow
# the stdlib ``http`` package: drop it and import the shared helpers as ``bench.http``.
if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == HERE:
    del sys.path[0]
sys.path.insert(0, str(HERE.parent))

from bench.harness import (  # noqa: E402  (after the sys.path fix above)
    READY_TIMEOUT,
    ROOT,
    BenchError,
    CpuUse,
    Server,
    WrkResult,
    check_positive,
    cpu_per_request,
    cpu_sample,
    free_port,
    run_wrk,
    wrk_options,
)

NGINX = "/usr/sbin/nginx"
FILES = {"small.txt": 4 * 1024, "large.bin": 1024 * 1024}


class FileServer(Server):
    """A :class:`bench.http.Server` that is ready once it serves ``small.txt`` whole."""

    def __init__(self, name: str, argv: Sequence[str], port: int, log: Path, body: bytes) -> None:
        super().__init__(name, argv, port, log)
        self.body = body

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        import http.client  # here: bench/ may have been first on sys.path at import time

        assert self.proc is not None
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(
                    f"{self.name} exited with status {self.proc.returncode}:\n{self.log_tail()}"
                )
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                conn.request("GET", "/small.txt")
                resp = conn.getresponse()
                data = resp.read()
                if resp.status == 200 and data == self.body:
                    return
                last = f"{resp.status} {data[:80]!r}"
            except OSError as exc:
                last = str(exc)
            finally:
                conn.close()
            time.sleep(0.1)
        raise BenchError(f"{self.name} did not serve /small.txt ({last}):\n{self.log_tail()}")


def make_files(public: Path) -> bytes:
    """Write the served files; return ``small.txt``'s content (the readiness check)."""
    public.mkdir()
    for name, size in FILES.items():
        (public / name).write_bytes((b"greenrunner static bench\n" * (size // 25 + 1))[:size])
    return (public / "small.txt").read_bytes()


def greenrunner_server(tmp: Path, public: Path, body: bytes) -> FileServer:
    """Greenrunner with ``static`` on ``public``; one worker (required, never used)."""
    port = free_port()
    command = shlex.join([sys.executable, "-m", "relays.wsgi", "bench.hello_app:app"])
    (tmp / ".rr.yaml").write_text(
        'version: "3"\n'
        "server:\n"
        f"  command: {json.dumps(command)}\n"
        "http:\n"
        f"  address: 127.0.0.1:{port}\n"
        "  middleware: [static]\n"
        "  static:\n"
        f"    dir: {json.dumps(str(public))}\n"
        "  pool:\n"
        "    num_workers: 1\n"
        "logs:\n"
        "  level: warn\n"
    )
    argv = [sys.executable, "-m", "actors.main", "serve", "-c", str(tmp / ".rr.yaml")]
    argv += ["-w", str(ROOT)]
    return FileServer("greenrunner", argv, port, tmp / "greenrunner.log", body)


def nginx_server(tmp: Path, public: Path, body: bytes) -> FileServer:
    """nginx in one process (``master_process off``), its whole state under ``tmp/nginx``."""
    port = free_port()
    prefix = tmp / "nginx"
    prefix.mkdir()
    temps = "\n".join(
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (prefix / "nginx.conf").write_text(
        f"""daemon off;
master_process off;
worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
{temps}
    types {{ text/plain txt; application/octet-stream bin; }}
    server {{
        listen 127.0.0.1:{port};
        root {public};
    }}
}}
"""
    )
    argv = [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", "stderr"]
    return FileServer("nginx", argv, port, tmp / "nginx.log", body)


def check_tools() -> str | None:
    """The wrk path, or None after saying what to install."""
    wrk = shutil.which("wrk")
    missing = [
        name
        for name, path in (("wrk", wrk), ("nginx", NGINX))
        if not path or (name == "nginx" and not os.access(NGINX, os.X_OK))
    ]
    if missing:
        print(
            f"static bench: {', '.join(missing)} not installed; install with:\n"
            f"    apt-get install -y {' '.join(missing)}",
            file=sys.stderr,
        )
        return None
    return wrk


HEADER = (
    f"  {'server':<12} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'sock err':>8} "
    f"{'non-2xx':>7} {'requests':>9} {'cpu us/req':>10}"
)


def _row(name: str, r: WrkResult, c: CpuUse) -> str:
    return (
        f"  {name:<12} {r.rps:>9.0f} {r.p50_ms:>7.2f} {r.p99_ms:>7.2f} {r.socket_errors:>8d} "
        f"{r.non_2xx:>7d} {r.requests:>9d} {c.tree_us:>10.1f}"
    )


def _median_row(name: str, runs: list[tuple[WrkResult, CpuUse]]) -> str:
    rs = [r for r, _ in runs]
    return (
        f"  {name:<12} {statistics.median(r.rps for r in rs):>9.0f} "
        f"{statistics.median(r.p50_ms for r in rs):>7.2f} "
        f"{statistics.median(r.p99_ms for r in rs):>7.2f} "
        f"{sum(r.socket_errors for r in rs):>8d} {sum(r.non_2xx for r in rs):>7d} "
        f"{sum(r.requests for r in rs):>9d} {statistics.median(c.tree_us for _, c in runs):>10.1f}"
    )


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def bench(wrk: str, a: argparse.Namespace) -> dict[str, float]:
    """Start both servers, measure alternating rounds per file; return the ratio per file."""
    results: dict[tuple[str, str], list[tuple[WrkResult, CpuUse]]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="greenrunner-staticbench-") as tmp_name,
        contextlib.ExitStack() as stack,
    ):
        tmp = Path(tmp_name)
        public = tmp / "public"
        body = make_files(public)
        servers = [nginx_server(tmp, public, body), greenrunner_server(tmp, public, body)]
        for s in servers:
            stack.callback(s.stop)
            s.start()
        for s in servers:
            s.wait_ready()
            assert s.proc is not None
            print(f"  {s.name:<12} pid {s.proc.pid}, {s.url}")
        for name in FILES:
            print(f"file {name} ({FILES[name]} bytes)")
            for s in servers:
                run_wrk(wrk, s.url + name, a.threads, a.connections, a.warmup)  # discarded
            for r in range(1, a.rounds + 1):
                for s in servers:
                    before = cpu_sample(s)
                    res = run_wrk(wrk, s.url + name, a.threads, a.connections, a.duration)
                    use = cpu_per_request(before, cpu_sample(s), res.requests)
                    results.setdefault((name, s.name), []).append((res, use))
                n, g = results[(name, "nginx")][-1], results[(name, "greenrunner")][-1]
                print(f"round {r}")
                print(HEADER)
                print(_row("nginx", *n))
                print(_row("greenrunner", *g))
                print(f"  ratio {g[0].rps / n[0].rps:.2f}", flush=True)
        for s in servers:
            tail = s.log_tail(10)
            if tail.strip():
                print(f"  {s.name} log (last lines):\n    " + tail.replace("\n", "\n    "))
    ratios = {}
    for name in FILES:
        print(f"{name}: median of {a.rounds} rounds")
        print(HEADER)
        print(_median_row("nginx", results[(name, "nginx")]))
        print(_median_row("greenrunner", results[(name, "greenrunner")]))
        mn = statistics.median(r.rps for r, _ in results[(name, "nginx")])
        mg = statistics.median(r.rps for r, _ in results[(name, "greenrunner")])
        ratios[name] = mg / mn
        errors = sum(r.errors for key, rs in results.items() if key[0] == name for r, _ in rs)
        print(
            f"ratio greenrunner/nginx on median req/s for {name}: {ratios[name]:.2f}"
            + (f"; WARNING: {errors} errors, figures are suspect" if errors else "")
        )
    return ratios


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    wrk_options(ap, per="server and file", warmup=2)
    a = ap.parse_args(argv)
    check_positive(ap, a, "duration", "rounds", "connections", "threads", "warmup")
    wrk = check_tools()
    if wrk is None:
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    try:
        bench(wrk, a)
    except BenchError as exc:
        print(f"static bench failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
