"""Fixtures for the actor core: real worker processes on every relay."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from actors.system import ActorSystem
from tests.procs import free_port, kill_all

WORKERS = Path(__file__).resolve().parents[1] / "workers"
RELAYS = ["pipes", "tcp", "unix"]


def worker_cmd(name: str) -> list[str]:
    return [sys.executable, str(WORKERS / f"{name}.py")]


def relay_dsn(kind: str, short_dir: str) -> str:
    if kind == "pipes":
        return "pipes"
    if kind == "tcp":
        return f"tcp://127.0.0.1:{free_port()}"
    return f"unix://{short_dir}/rr.sock"


class Harness:
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
        env: dict | None = None,
        server: dict | None = None,
        **pool: object,
    ):
        system = self.system(command, **(server or {}))
        cfg = {"num_workers": 2, "allocate_timeout": "10s", "destroy_timeout": "5s", **pool}
        return system.new_pool("test", cfg, env)

    def close(self) -> None:
        pids = []
        for s in self.systems:
            for p in s.pools.values():
                pids += [w["pid"] for w in p.workers()]
            s.stop(timeout=3)
        kill_all(pids)  # belt and braces: nothing may outlive a test
        shutil.rmtree(self.short_dir, ignore_errors=True)
