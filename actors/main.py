"""Command line: ``python -m actors.main [serve] [-c] config/rr.yaml [-o k=v] [-w DIR]``.

Also ``workers [-i] [plugin...]`` and ``reset [-s] [plugin...]`` (:mod:`actors.cli`), which
ask a running server over RPC, like ``rr workers`` and ``rr reset``.

This module is the one owner of process-wide concerns, as gunicorn's arbiter
is: signals, the child-subreaper flag and the exit status.  SIGTERM/SIGINT
stop taking work, let in-flight work finish (up to each pool's
``destroy_timeout``), stop the workers and exit 0; a second signal forces
an immediate exit.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import sys
from collections.abc import Sequence

import gevent
import gevent.event

__all__ = ["main"]

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Adopt orphaned grandchildren so they are reaped here, not left as zombies.

    Workers may fork (``shell_exec``, a subprocess that outlives its parent);
    when Greenrunner is PID 1 in a container nobody else would reap those.
    gevent's libev child watcher reaps every child (``waitpid(-1)``), adopted
    ones included.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="greenrunner",
        description="RoadRunner-compatible application server on gevent and pykka.",
    )
    p.add_argument("command", nargs="?", default="serve", help="serve (default), workers or reset")
    p.add_argument("config", nargs="?", help="path to .rr.yaml (default: .rr.yaml)")
    p.add_argument("-c", "--config", dest="config_opt", help="path to .rr.yaml")
    p.add_argument(
        "-o",
        "--override",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. -o http.address=127.0.0.1:9000",
    )
    p.add_argument("-w", "--workdir", help="change to this directory before starting")
    return p


def build_command_parser(command: str) -> argparse.ArgumentParser:
    """``workers`` and ``reset``: the config (for ``rpc.listen``), overrides, plugin names."""
    p = argparse.ArgumentParser(
        prog=f"greenrunner {command}",
        description=(
            "show the workers of a running server (rr workers)"
            if command == "workers"
            else "replace the workers of a running server's plugins (rr reset)"
        ),
    )
    p.add_argument("plugins", nargs="*", metavar="plugin", help="default: every plugin")
    p.add_argument("-c", "--config", default=".rr.yaml", help="path to .rr.yaml (rpc.listen)")
    p.add_argument("-o", "--override", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("-w", "--workdir", help="change to this directory first")
    if command == "workers":
        p.add_argument("-i", "--interactive", action="store_true", help="redraw every second")
    else:
        p.add_argument("-s", "--silent", action="store_true", help="print failures only")
    return p


def run_command(command: str, argv: Sequence[str]) -> int:
    """Run ``workers`` or ``reset``; errors are one line on stderr and exit status 1."""
    from actors.cli import reset, workers
    from actors.cli.client import CommandError, connect, rpc_address

    args = build_command_parser(command).parse_args(argv)
    try:
        if args.workdir:
            os.chdir(args.workdir)
        address = rpc_address(args.config, args.override)
        if command == "workers":
            with connect(address, args.config) as rpc:
                return workers.run(rpc, args.plugins, args.interactive)
        return reset.run(lambda: connect(address, args.config), args.plugins, args.silent)
    except OSError as exc:
        print(f"greenrunner: -w {args.workdir}: {exc.strerror}", file=sys.stderr)
        return 2
    except CommandError as exc:
        print(f"greenrunner: {exc}", file=sys.stderr)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("workers", "reset"):
        return run_command(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    if (
        args.command not in ("serve",)
        and args.config is None
        and args.command.endswith((".yaml", ".yml", ".json"))
    ):
        args.config, args.command = args.command, "serve"
    if args.command != "serve":
        print(f"greenrunner: unknown command {args.command!r} (only 'serve')", file=sys.stderr)
        return 2
    if args.workdir:
        try:
            os.chdir(args.workdir)
        except OSError as exc:
            print(f"greenrunner: -w {args.workdir}: {exc.strerror}", file=sys.stderr)
            return 2
    path = args.config_opt or args.config or ".rr.yaml"

    from actors.config import ConfigError
    from actors.system import ActorSystem, StartupError

    try:
        system = ActorSystem.from_file(path, args.override)
    except ConfigError as exc:
        print(f"greenrunner: config error: {exc}", file=sys.stderr)
        return 1

    become_subreaper()
    stopping = gevent.event.Event()
    signals = {"count": 0}

    def on_signal(signum: int) -> None:
        signals["count"] += 1
        if signals["count"] > 1:
            sys.stderr.write("greenrunner: second signal, exiting now\n")
            from actors.process import kill_all_processes

            kill_all_processes()  # no worker may outlive the server, busy ones included
            os._exit(1)
        stopping.set()

    hub_signals = [
        gevent.signal_handler(signal.SIGTERM, on_signal, signal.SIGTERM),
        gevent.signal_handler(signal.SIGINT, on_signal, signal.SIGINT),
    ]
    try:
        system.start()
    except StartupError as exc:
        print(f"greenrunner: cannot start: {exc}", file=sys.stderr)
        return 1
    import logging

    log = logging.getLogger("greenrunner.server")
    log.info("greenrunner started", extra={"fields": {"pid": os.getpid(), "config": path}})
    stopping.wait()
    log.info("stop signal received, finishing in-flight work")
    system.stop()
    for h in hub_signals:
        h.cancel()
    log.info("greenrunner stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
