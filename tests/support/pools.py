"""ActorSystems with a pool of real worker processes, on one relay kind."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from actors.pool import Pool
from actors.system import ActorSystem
from tests.support.procs import free_port, kill_all
from tests.support.workers import worker_cmd


def relay_dsn(kind: str, short_dir: str) -> str:
    """A relay DSN of ``kind`` (pipes, tcp, unix) free for this test."""
    if kind == "pipes":
        return "pipes"
    if kind == "tcp":
        return f"tcp://127.0.0.1:{free_port()}"
    return f"unix://{short_dir}/rr.sock"


def pids(pool: Any) -> set[int]:
    """The pids of a pool's current workers."""
    return {w["pid"] for w in pool.workers()}


class PoolHarness:
    """Builds ActorSystems on one relay and stops them (and their workers) afterwards."""

    def __init__(self, relay: str, tmp_path: Path) -> None:
        self.relay = relay
        self.tmp_path = tmp_path
        self.systems: list[ActorSystem] = []
        # AF_UNIX paths are limited to ~108 bytes; pytest's tmp_path can be longer.
        self.short_dir = tempfile.mkdtemp(prefix="gr-")

    def system(self, command: str = "echo", **server: object) -> ActorSystem:
        data = {
            "server": {
                "command": worker_cmd(command),
                "relay": relay_dsn(self.relay, self.short_dir),
                **server,
            },
            "logs": {"level": "error", "mode": "production"},
        }
        system = ActorSystem.from_dict(data)
        self.systems.append(system)
        return system

    def pool(
        self,
        command: str = "echo",
        env: dict[str, str] | None = None,
        server: dict[str, Any] | None = None,
        **pool: object,
    ) -> Pool:
        system = self.system(command, **(server or {}))
        cfg = {"num_workers": 2, "allocate_timeout": "10s", "destroy_timeout": "5s", **pool}
        return system.new_pool("test", cfg, env)

    def close(self) -> None:
        pids: list[int] = []
        for s in self.systems:
            for p in s.pools.values():
                pids += [w["pid"] for w in p.workers()]
            s.stop(timeout=3)
        kill_all(pids)  # belt and braces: nothing may outlive a test
        shutil.rmtree(self.short_dir, ignore_errors=True)
