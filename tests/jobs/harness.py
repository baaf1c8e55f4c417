"""The jobs tests' harness: a real ActorSystem with a ``jobs`` section and RPC, real worker
processes (:mod:`tests.jobs.workers.app`), and the SDK producer over a real RPC socket.

The server runs on the test's gevent hub, so the blocking SDK client runs in the hub's
threadpool (:meth:`JobsHarness.call`); workers log every job they receive to a file the
test reads (:meth:`JobsHarness.received`).
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from actors.system import ActorSystem
from relays.jobs import Jobs
from relays.rpc import RPC
from tests.support.hub import call, wait_for
from tests.support.procs import kill_all

T = TypeVar("T")

WORKERS = Path(__file__).resolve().parent / "workers"
PY_WORKER = [sys.executable, str(WORKERS / "app.py")]
PHP_WORKER = [
    "php",
    str(Path(__file__).resolve().parents[2] / "examples" / "php" / "jobs_worker.php"),
]

needs_php = pytest.mark.skipif(
    shutil.which("php") is None,
    reason="php-cli is not installed (apt-get install php-cli): PHP-style jobs worker not tested",
)


class JobsHarness:
    """Builds a jobs ActorSystem and stops it, and every worker, afterwards."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.log = tmp_path / "jobs.log"
        self.state_dir = tmp_path / "state"
        self.state_dir.mkdir()
        self.systems: list[ActorSystem] = []
        self.clients: list[RPC] = []

    def start(
        self,
        pipelines: dict[str, Any] | None = None,
        *,
        worker: list[str] = PY_WORKER,
        consume: list[str] | None = None,
        num_workers: int = 2,
        sections: dict[str, Any] | None = None,
        **jobs: Any,
    ) -> ActorSystem:
        pipelines = pipelines if pipelines is not None else {"default": {"driver": "memory"}}
        data: dict[str, Any] = {
            "server": {
                "command": worker,
                "env": {"JOBS_LOG": str(self.log), "JOBS_STATE": str(self.state_dir)},
            },
            "logs": {"level": "error", "mode": "production"},
            "rpc": {"listen": "tcp://127.0.0.1:0"},
            "jobs": {
                "pool": {"num_workers": num_workers, "allocate_timeout": "10s"},
                "consume": list(pipelines) if consume is None else consume,
                "pipelines": pipelines,
                **jobs,
            },
        }
        data.update(sections or {})
        system = ActorSystem.from_dict(data)
        self.systems.append(system)
        return system.start()

    @property
    def system(self) -> ActorSystem:
        return self.systems[-1]

    @property
    def address(self) -> str:
        return str(self.system.rpc.address)

    def call(self, fn: Callable[[Jobs], T]) -> T:
        """``fn(Jobs(rpc))`` in the threadpool (the blocking SDK must not block the hub)."""

        def run() -> T:
            rpc = RPC.create(self.address, timeout=30)
            try:
                return fn(Jobs(rpc))
            finally:
                rpc.close()

        return call(run)

    def rpc(self, method: str, arg: Any, codec: int | None = None) -> Any:
        """One raw RPC call (any codec) in the threadpool."""

        def run() -> Any:
            with RPC.create(self.address, timeout=30) as rpc:
                return rpc.call(method, arg, codec)

        return call(run)

    def received(self) -> list[dict[str, Any]]:
        """Every job the workers logged, in order."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def wait_received(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Wait until at least ``count`` jobs were received (lines are counted, not parsed,
        while waiting); fails with the last ones that came."""

        def lines() -> bool:
            return self.log.exists() and self.log.read_bytes().count(b"\n") >= count

        wait_for(lines, timeout, lambda: f"{count} jobs, got {self.received()[-5:]}", step=0.05)
        return self.received()

    def state(self, pipeline: str = "default") -> dict[str, Any]:
        """The plugin's ``jobs.State`` of ``pipeline`` now."""
        states = {s["Pipeline"]: s for s in self.system.plugins["jobs"].jobs_state()}
        return states[pipeline]

    def wait_state(
        self, check: Callable[[dict[str, Any]], bool], pipeline: str = "default"
    ) -> dict[str, Any]:
        """Poll ``pipeline``'s state until ``check`` holds; returns that state."""

        def matching() -> dict[str, Any] | None:
            state = self.state(pipeline)
            return state if check(state) else None

        found = wait_for(
            matching, 10.0, lambda: f"a matching state of {pipeline}, last {self.state(pipeline)}"
        )
        return found

    def close(self) -> None:
        pids = []
        for system in self.systems:
            for pool in system.pools.values():
                pids += [w["pid"] for w in pool.workers()]
            system.stop(timeout=3)
        kill_all(pids)
