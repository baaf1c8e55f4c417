"""The init actor: runs ``server.on_init`` once, before any pool starts.

RoadRunner semantics: a failure (non-zero exit, timeout, cannot start) is
logged and the server goes on, unless ``exit_on_error`` is true.  Unlike
RoadRunner, a timeout is reported as a failure even without
``exit_on_error`` (RoadRunner silently treats it as success).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from actors.process import SpawnError, WorkerProcess, resolve_credentials, server_environ
from actors.runtime import GeventActor

__all__ = ["InitActor", "InitFailed"]

log = logging.getLogger("greenrunner.init")


class InitFailed(Exception):
    """``on_init`` failed and ``exit_on_error`` is set: the server must not start."""


class InitActor(GeventActor):
    """Asked exactly once (``run``) by the ActorSystem before pools start."""

    def __init__(self, cfg: Any) -> None:
        super().__init__()
        self.cfg = cfg

    def run(self) -> bool:
        """Run the command; return True on success.  Raises InitFailed when fatal."""
        cfg = self.cfg
        error = self._run_once()
        if error is None:
            log.info("on_init finished", extra={"fields": {"command": cfg.command}})
            return True
        log.error(
            "on_init was finished with errors",
            extra={"fields": {"error": error, "exit_on_error": cfg.exit_on_error}},
        )
        if cfg.exit_on_error:
            raise InitFailed(f"server.on_init failed: {error}")
        return False

    def _run_once(self) -> str | None:
        cfg = self.cfg
        sink = _sink
        try:
            creds = resolve_credentials(cfg.user, key="server.on_init")
            env = creds.environ(server_environ(os.environ))
            env.update({k.upper(): str(v) for k, v in cfg.env.items()})
            proc = WorkerProcess.spawn(
                cfg.command,
                env,
                pipes=False,
                credentials=creds,
                sink=sink,
                key="server.on_init.command",
            )
        except SpawnError as exc:
            return str(exc)
        code = proc.wait(timeout=cfg.exec_timeout)
        if code is None:
            proc.kill()
            proc.wait(timeout=5)
            proc.drain_output()
            return (
                f"startup process has been killed by timeout (exec_timeout="
                f"{cfg.exec_timeout:g}s): {proc.command_line!r}"
            )
        proc.drain_output()
        proc.signal_group(9)
        if code != 0:
            tail = proc.stderr_tail()
            msg = f"{proc.command_line!r} {proc.describe_exit()}"
            return msg + (f"; last output lines:\n{tail}" if tail else "")
        return None


def _sink(pid: int, line: bytes) -> None:
    log.info(line.decode("utf-8", "backslashreplace"), extra={"fields": {"pid": pid}})
