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
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
# ``python bench/static.py`` puts bench/ first on sys.path, where bench/http.py would shadow
# the stdlib ``http`` package: drop it and import the shared helpers as ``bench.http``.
if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == HERE:
    del sys.path[0]
sys.path.insert(0, str(HERE.parent))

from bench.harness import (  # noqa: E402  (after the sys.path fix above)
    BenchError,
    CpuUse,
    Server,
    WrkResult,
    check_positive,
    cpu_per_request,
    cpu_sample,
    free_port,
    greenrunner_argv,
    median_row,
    run_wrk,
    stop_on_sigterm,
    table_header,
    table_row,
    wrk_options,
)

NGINX = "/usr/sbin/nginx"
FILES = {"small.txt": 4 * 1024, "large.bin": 1024 * 1024}


def file_server(name: str, argv: Sequence[str], port: int, log: Path, body: bytes) -> Server:
    """A server that is ready once it serves ``small.txt`` whole (its ``url`` is that file)."""
    return Server(
        name,
        argv,
        port,
        log,
        path="/small.txt",
        check=lambda status, data: status == 200 and data == body,
    )


def file_url(server: Server, name: str) -> str:
    """The URL of served file ``name``."""
    return f"http://127.0.0.1:{server.port}/{name}"


def make_files(public: Path) -> bytes:
    """Write the served files; return ``small.txt``'s content (the readiness check)."""
    public.mkdir()
    for name, size in FILES.items():
        (public / name).write_bytes((b"greenrunner static bench\n" * (size // 25 + 1))[:size])
    return (public / "small.txt").read_bytes()


def greenrunner_server(tmp: Path, public: Path, body: bytes) -> Server:
    """Greenrunner with ``static`` on ``public``; one worker (required, never used)."""
    port = free_port()
    command = shlex.join([sys.executable, "-m", "relays.wsgi", "bench.hello_app:app"])
    static = f"  middleware: [static]\n  static:\n    dir: {json.dumps(str(public))}\n"
    argv = greenrunner_argv(tmp, command, port, workers=1, http=static)
    return file_server("greenrunner", argv, port, tmp / "greenrunner.log", body)


def nginx_server(tmp: Path, public: Path, body: bytes) -> Server:
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
    return file_server("nginx", argv, port, tmp / "nginx.log", body)


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
                run_wrk(wrk, file_url(s, name), a.threads, a.connections, a.warmup)  # discarded
            for r in range(1, a.rounds + 1):
                for s in servers:
                    before = cpu_sample(s)
                    res = run_wrk(wrk, file_url(s, name), a.threads, a.connections, a.duration)
                    use = cpu_per_request(before, cpu_sample(s), res.requests)
                    results.setdefault((name, s.name), []).append((res, use))
                n, g = results[(name, "nginx")][-1], results[(name, "greenrunner")][-1]
                print(f"round {r}")
                print(table_header(front=False))
                print(table_row("nginx", *n, front=False))
                print(table_row("greenrunner", *g, front=False))
                print(f"  ratio {g[0].rps / n[0].rps:.2f}", flush=True)
        for s in servers:
            tail = s.log_tail(10)
            if tail.strip():
                print(f"  {s.name} log (last lines):\n    " + tail.replace("\n", "\n    "))
    ratios = {}
    for name in FILES:
        print(f"{name}: median of {a.rounds} rounds")
        print(table_header(front=False))
        print(median_row("nginx", results[(name, "nginx")], front=False))
        print(median_row("greenrunner", results[(name, "greenrunner")], front=False))
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
    stop_on_sigterm()
    try:
        bench(wrk, a)
    except BenchError as exc:
        print(f"static bench failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
