"""PHP hello: Greenrunner with a PHP goridge worker against nginx + PHP-FPM, same run.

Both stacks answer ``GET /hello`` with ``Hello /hello`` and an ``X-Worker`` header, with
2 PHP processes each, on 127.0.0.1:

- **fpm**: Debian's nginx (1 worker process, access log off, as Greenrunner logs no access
  lines by default) in front of ``php-fpm8.2`` (``pm = static``, 2 children, OPcache on as
  Debian ships it) over a unix socket; both started from private configs in a temp dir,
  never as system services (``shared/baselines/phpfpm.sh``'s setup);
- **greenrunner**: ``python -m actors.main`` with a generated ``.rr.yaml`` whose workers run
  ``php bench/php_hello.php`` (a dependency-free goridge worker, no PSR-7) over pipes.

Both are checked to answer, warmed up, then measured with ``wrk --latency`` in alternating
rounds (fpm r1, greenrunner r1, ...), with each stack's CPU per request from ``/proc``
(``front``: Greenrunner's hub or nginx's master; ``total``: every process of the stack).

    python bench/php.py [--duration 10] [--rounds 3] [--connections 32] [--threads 2]

Needs ``wrk``, ``php`` (CLI), ``nginx`` and ``php-fpm8.2`` (``apt-get install -y wrk php-cli
nginx php8.2-fpm``).  Goal: ratio greenrunner / fpm on median req/s >= 1.0.  Exit status:
0 done, 1 a server or wrk failed, 2 a tool is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
# ``python bench/php.py`` puts bench/ first on sys.path, where bench/http.py would shadow
# the stdlib ``http`` package that the readiness check imports.
if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == HERE:
    del sys.path[0]
sys.path.insert(0, str(HERE.parent))

from bench.harness import (  # noqa: E402  (after the sys.path line above)
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

PATH = "/hello"
BODY = b"Hello /hello"
FPM_HELLO = (
    "<?php header('X-Worker: fpm'); "
    "echo 'Hello ' . parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);\n"
)
RUN_USER = "www-data"  # nginx and FPM workers drop to this user when started as root


def _hello(status: int, body: bytes) -> bool:
    return status == 200 and body == BODY


def tools() -> dict[str, str] | None:
    """Paths of wrk, php, nginx and php-fpm, or None after saying what to install."""
    found = {
        "wrk": shutil.which("wrk"),
        "php": shutil.which("php"),
        "nginx": shutil.which("nginx")
        or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None),
        "php-fpm": shutil.which("php-fpm8.2")
        or ("/usr/sbin/php-fpm8.2" if Path("/usr/sbin/php-fpm8.2").exists() else None),
    }
    missing = [k for k, v in found.items() if v is None]
    if missing:
        print(
            f"php bench: missing {', '.join(missing)}; install with:\n"
            "    apt-get install -y wrk php-cli nginx php8.2-fpm",
            file=sys.stderr,
        )
        return None
    return {k: v for k, v in found.items() if v is not None}


def fpm_stack(tmp: Path, tool: dict[str, str], children: int) -> tuple[Server, Server]:
    """php-fpm (started first, waited on by socket) and nginx in front of it, private configs."""
    root = os.geteuid() == 0
    www = tmp / "www"
    www.mkdir()
    (tmp / "nginx-tmp").mkdir()
    (www / "hello.php").write_text(FPM_HELLO)
    # OPcache does not cache files younger than opcache.file_update_protection (2 s).
    old = time.time() - 60
    os.utime(www / "hello.php", (old, old))
    tmp.chmod(0o755)  # the workers (www-data) must read the script
    sock = tmp / "fpm.sock"
    user = f"user = {RUN_USER}\ngroup = {RUN_USER}\n" if root else ""
    listen_owner = f"listen.owner = {RUN_USER}\nlisten.group = {RUN_USER}\n" if root else ""
    (tmp / "php-fpm.conf").write_text(
        f"[global]\npid = {tmp}/php-fpm.pid\nerror_log = {tmp}/php-fpm.log\ndaemonize = no\n\n"
        f"[bench]\n{user}listen = {sock}\n{listen_owner}listen.mode = 0660\n"
        f"listen.backlog = 511\npm = static\npm.max_children = {children}\npm.max_requests = 0\n"
    )
    nginx_user = f"user {RUN_USER};\n" if root else ""
    (tmp / "nginx.conf").write_text(
        f"{nginx_user}worker_processes 1;\ndaemon off;\nmaster_process on;\n"
        f"pid {tmp}/nginx.pid;\nerror_log {tmp}/nginx-error.log warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n    access_log off;\n"
        f"    client_body_temp_path {tmp}/nginx-tmp/body;\n"
        f"    proxy_temp_path {tmp}/nginx-tmp/proxy;\n"
        f"    fastcgi_temp_path {tmp}/nginx-tmp/fastcgi;\n"
        f"    uwsgi_temp_path {tmp}/nginx-tmp/uwsgi;\n"
        f"    scgi_temp_path {tmp}/nginx-tmp/scgi;\n"
        "    default_type text/plain;\n    server_tokens off;\n    keepalive_timeout 65;\n"
        f"    server {{\n        listen 127.0.0.1:{{port}};\n        root {www};\n"
        "        location / {\n            include /etc/nginx/fastcgi_params;\n"
        f"            fastcgi_param SCRIPT_FILENAME {www}/hello.php;\n"
        f"            fastcgi_pass unix:{sock};\n        }}\n    }}\n}}\n"
    )
    port = free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(conf.read_text().replace("{port}", str(port)))
    fpm = Server(
        "php-fpm",
        [tool["php-fpm"], "-y", str(tmp / "php-fpm.conf"), "-F"],
        0,
        tmp / "php-fpm.stdout",
        cwd=tmp,
    )
    nginx = Server(
        "fpm",
        [tool["nginx"], "-e", str(tmp / "nginx-error.log"), "-p", str(tmp), "-c", str(conf)],
        port,
        tmp / "nginx.stdout",
        path=PATH,
        check=_hello,
        cwd=tmp,
    )
    return fpm, nginx


def wait_socket(fpm: Server, sock: Path, timeout: float = 10.0) -> None:
    """Wait for php-fpm's socket, so nginx never answers a 502 while the pool starts."""
    assert fpm.proc is not None
    deadline = time.monotonic() + timeout
    while not sock.exists():
        if fpm.proc.poll() is not None or time.monotonic() > deadline:
            raise BenchError(f"php-fpm did not listen on {sock}:\n{fpm.log_tail()}")
        time.sleep(0.05)


def greenrunner_php(tmp: Path, tool: dict[str, str], workers: int) -> Server:
    """Greenrunner serving ``bench/php_hello.php`` with ``workers`` PHP workers, logs warn."""
    port = free_port()
    command = shlex.join([tool["php"], str(HERE / "php_hello.php")])
    argv = greenrunner_argv(tmp, command, port, workers=workers)
    return Server("greenrunner", argv, port, tmp / "greenrunner.log", path=PATH, check=_hello)


def bench(tool: dict[str, str], a: argparse.Namespace) -> float:
    """Start both stacks, measure alternating rounds, print tables; return the req/s ratio."""
    results: dict[str, list[tuple[WrkResult, CpuUse]]] = {"fpm": [], "greenrunner": []}
    wrk = tool["wrk"]
    with (
        tempfile.TemporaryDirectory(prefix="greenrunner-phpbench-") as tmp_name,
        contextlib.ExitStack() as stack,
    ):
        tmp = Path(tmp_name)
        tmp.chmod(0o755)  # FPM's and nginx's workers (www-data) reach their files through it
        (tmp / "fpm").mkdir()
        (tmp / "gr").mkdir()
        fpm, nginx = fpm_stack(tmp / "fpm", tool, a.workers)
        ours = greenrunner_php(tmp / "gr", tool, a.workers)
        for s in (fpm, nginx, ours):
            stack.callback(s.stop)  # registered first: stopped even if start() fails half-way
        fpm.start()
        wait_socket(fpm, tmp / "fpm" / "fpm.sock")
        assert fpm.proc is not None
        nginx.extra_pids = [fpm.proc.pid]  # the fpm side's CPU: nginx and php-fpm trees
        nginx.start()
        ours.start()
        servers = [nginx, ours]
        try:
            for r in alternate(wrk, servers, a, results):
                print(f"round {r}")
                print(table_header())
                for n in results:
                    print(table_row(n, *results[n][-1]))
                f, o = results["fpm"][-1][0], results["greenrunner"][-1][0]
                print(f"  ratio {o.rps / f.rps:.2f}", flush=True)
        except BenchError:
            if fpm.proc is not None and fpm.proc.poll() is not None:
                print(f"php-fpm exited {fpm.proc.returncode}:\n{fpm.log_tail()}", file=sys.stderr)
            raise
        for path in (tmp / "fpm" / "php-fpm.log", tmp / "fpm" / "nginx-error.log", ours.log_path):
            with contextlib.suppress(OSError):
                bad = [
                    line
                    for line in path.read_text(errors="replace").splitlines()
                    if any(w in line.lower() for w in ("error", "warn", "crit"))
                ]
                if bad:
                    print(f"  {path.name} (last problems):\n    " + "\n    ".join(bad[-5:]))
    print(f"median of {a.rounds} rounds (errors and requests: totals)")
    print(table_header())
    for n, runs in results.items():
        print(median_row(n, runs))
    mf = median([r.rps for r, _ in results["fpm"]])
    mo = median([r.rps for r, _ in results["greenrunner"]])
    ratio = mo / mf
    errors = sum(r.errors for rs in results.values() for r, _ in rs)
    print(
        f"ratio greenrunner/fpm on median req/s: {ratio:.2f} "
        f"(goal >= 1.0: {'met' if ratio >= 1.0 else 'not met'})"
        + (f"; WARNING: {errors} errors, figures are suspect" if errors else "")
    )
    return ratio


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    wrk_options(ap, per="stack", warmup=3)
    ap.add_argument("--workers", type=int, default=2, help="PHP processes per stack (2)")
    a = ap.parse_args(argv)
    check_positive(ap, a, "duration", "rounds", "connections", "threads", "warmup", "workers")
    tool = tools()
    if tool is None:
        return 2
    stop_on_sigterm()
    print(
        f"php bench: GET {PATH} -> {BODY.decode()}, {a.workers} PHP processes per stack, "
        f"wrk -t{a.threads} -c{a.connections} -d{a.duration}s --latency, {a.rounds} rounds "
        f"(alternating), warm-up {a.warmup}s, {os.cpu_count()} CPUs shared with wrk"
    )
    try:
        bench(tool, a)
    except BenchError as exc:
        print(f"php bench: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
