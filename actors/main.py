"""Command line: ``python -m actors.main [serve] [-c] config/rr.yaml [-o k=v] [-w DIR]``.

Also ``workers [-i] [plugin...]``, ``reset [-s] [plugin...]`` and ``jobs <pause|resume|destroy|list>
[pipeline...]`` (:mod:`actors.cli`), which ask a running server over RPC, like ``rr workers``,
``rr reset`` and ``rr jobs``.

This module is the one owner of process-wide concerns, as gunicorn's arbiter
is: signals, the child-subreaper flag and the exit status.  SIGTERM/SIGINT
stop taking work, let in-flight work finish (up to each pool's
``destroy_timeout``), stop the workers and exit 0; a second signal forces
an immediate exit.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

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
    p.add_argument(
        "command", nargs="?", default="serve", help="serve (default), workers, reset or jobs"
    )
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
        description={
            "workers": "show the workers of a running server (rr workers)",
            "reset": "replace the workers of a running server's plugins (rr reset)",
            "jobs": "pause, resume, destroy or list a running server's pipelines (rr jobs)",
        }[command],
    )
    if command == "jobs":
        from actors.cli.jobs import ACTIONS

        for action in ACTIONS:
            p.add_argument(
                f"--{action}", dest="flag", action="append_const", const=action, default=[],
                help=f"{action} the pipelines (rr's spelling)",
            )  # fmt: skip
        p.add_argument(
            "plugins", nargs="*", metavar="[action] pipeline",
            help="pause, resume, destroy or list, then pipeline names (or a,b,c)",
        )  # fmt: skip
    else:
        p.add_argument("plugins", nargs="*", metavar="plugin", help="default: every plugin")
    p.add_argument("-c", "--config", default=".rr.yaml", help="path to .rr.yaml (rpc.listen)")
    p.add_argument("-o", "--override", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("-w", "--workdir", help="change to this directory first")
    if command == "workers":
        p.add_argument("-i", "--interactive", action="store_true", help="redraw every second")
    elif command == "jobs":
        p.add_argument("-s", "--silent", action="store_true", help="print nothing on success")
    else:
        p.add_argument("-s", "--silent", action="store_true", help="print failures only")
    return p


def run_command(command: str, argv: Sequence[str]) -> int:
    """Run ``workers``, ``reset`` or ``jobs``; errors are one line on stderr and exit status 1."""
    from actors.cli import jobs, reset, workers
    from actors.cli.client import CommandError, connect, rpc_address

    parser = build_command_parser(command)
    args = parser.parse_args(argv)
    if command == "jobs":
        words = list(args.plugins)
        actions = list(args.flag)
        if not actions and words and words[0] in jobs.ACTIONS:
            actions.append(words.pop(0))
        args.plugins = words
        if len(set(actions)) != 1:
            parser.error("say one of pause, resume, destroy or list (e.g. jobs pause emails)")
    try:
        if args.workdir:
            os.chdir(args.workdir)
        address = rpc_address(args.config, args.override)
        if command == "jobs":
            with connect(address, args.config) as rpc:
                return jobs.run(rpc, actions[0], args.plugins, args.silent)
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
    cwd = os.getcwd()
    if argv and argv[0] in ("workers", "reset", "jobs"):
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
    arbiter = Arbiter(system, path, cwd)
    try:
        system.start()
    except StartupError as exc:
        arbiter.close()
        print(f"greenrunner: cannot start: {exc}", file=sys.stderr)
        return 1
    if not system.serves_anything():
        system.stop(timeout=5)
        arbiter.close()
        print(
            f"greenrunner: {path} starts nothing that serves: add an http or tcp section (or rpc); "
            f"sections Greenrunner does not support yet are listed as warnings above",
            file=sys.stderr,
        )
        return 1
    return arbiter.run()


class Arbiter:
    """The one owner of the server process's lifecycle once the system is built (gunicorn's name).

    Every signal is handled here, on the hub, never in a raw signal handler:

    - ``SIGTERM``/``SIGINT``: stop gracefully (in-flight work first); a second one kills every
      worker and exits 1 at once.
    - ``SIGHUP``: reset every pool, as ``greenrunner reset`` does (new workers, nothing dropped).
    - ``SIGUSR1``: reopen the log files (after logrotate moved them).
    - ``SIGUSR2``: restart in place, as RoadRunner does: a graceful stop, then the same
      command line is executed again in this process (same pid, fresh config and code).
    - Any other catchable signal that would kill the process is logged and ignored.
    """

    #: Signals whose default action would end the server although it has no use for them.
    LOGGED = ("SIGALRM", "SIGVTALRM", "SIGPROF", "SIGIO", "SIGPWR", "SIGSTKFLT", "SIGXCPU")

    def __init__(self, system: Any, path: str, cwd: str) -> None:
        self.system = system
        self.path = path
        self.log = logging.getLogger("greenrunner.server")
        self.stopping = gevent.event.Event()
        self.restart = False
        self.stop_signals = 0
        self._resetting: gevent.Greenlet | None = None
        self._cwd = cwd  # where the command line was given, for a restart before any -w
        handlers = {
            signal.SIGTERM: self._on_stop,
            signal.SIGINT: self._on_stop,
            signal.SIGHUP: self._on_reset,
            signal.SIGUSR1: self._on_reopen,
            signal.SIGUSR2: self._on_restart,
        }
        for name in self.LOGGED:
            number = getattr(signal, name, None)
            if number is not None:
                handlers[number] = self._on_other
        self._watchers = [gevent.signal_handler(n, h, n) for n, h in handlers.items()]

    def close(self) -> None:
        """Give the signals back to their defaults."""
        for watcher in self._watchers:
            watcher.cancel()
        self._watchers = []

    def run(self) -> int:
        """Serve until told to stop; then stop, and exec again when told to restart."""
        self.log.info(
            "greenrunner started", extra={"fields": {"pid": os.getpid(), "config": self.path}}
        )
        # A timed wait keeps the hub busy, so it never concludes that nothing can wake us.
        while not self.stopping.wait(timeout=3600):
            pass
        if self._resetting is not None:
            self._resetting.kill(block=True, timeout=5)
        self.system.stop()
        self.close()
        if self.restart:
            self.log.info("greenrunner stopped, starting again in place (SIGUSR2)")
            self._exec_again()
        self.log.info("greenrunner stopped")
        return 0

    def _on_stop(self, signum: int) -> None:
        self.stop_signals += 1
        if self.stop_signals > 1:
            sys.stderr.write("greenrunner: second signal, exiting now\n")
            from actors.logs import flush_logging
            from actors.process import kill_all_processes

            kill_all_processes()  # no worker may outlive the server, busy ones included
            flush_logging(1.0)  # os._exit skips the exit-time flush of queued lines
            os._exit(1)
        self.log.info(
            "stop signal received, finishing in-flight work",
            extra={"fields": {"signal": signal.Signals(signum).name}},
        )
        self.stopping.set()

    def _on_reset(self, signum: int) -> None:
        if self.stopping.is_set():
            return
        if self._resetting is not None and not self._resetting.dead:
            self.log.warning("SIGHUP ignored: a reset is already running")
            return
        self.log.info("SIGHUP received, resetting every pool")
        self._resetting = gevent.spawn(self._reset_all)

    def _reset_all(self) -> None:
        jobs = [gevent.spawn(self.system.reset, name) for name in sorted(self.system.pools)]
        gevent.joinall(jobs)
        for job in jobs:
            if job.exception is not None:
                self.log.error("reset failed", extra={"fields": {"error": str(job.exception)}})
        self.log.info("every pool was reset", extra={"fields": {"pools": len(jobs)}})

    def _on_reopen(self, signum: int) -> None:
        from actors.logs import reopen_outputs

        reopen_outputs()
        self.log.info("SIGUSR1 received, log files reopened")

    def _on_restart(self, signum: int) -> None:
        if self.stopping.is_set():
            return
        self.log.info("SIGUSR2 received, restarting in place")
        self.restart = True
        self.stopping.set()

    def _on_other(self, signum: int) -> None:
        self.log.warning(
            "signal ignored", extra={"fields": {"signal": signal.Signals(signum).name}}
        )

    def _exec_again(self) -> None:
        """Replace this process with the same command line (descriptors are close-on-exec)."""
        logging.shutdown()  # flush the log outputs: nothing after exec would
        os.chdir(self._cwd)
        argv = list(getattr(sys, "orig_argv", [])) or [sys.executable, *sys.argv]
        os.execv(sys.executable, [sys.executable, *argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
