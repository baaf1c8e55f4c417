"""Real ActorSystems with an ``http`` section, for the end-to-end tests (``servers`` fixture).

Each test starts its own server on 127.0.0.1, port 0 (the kernel picks a free one, so
``pytest -n 2`` is safe), with real Python worker processes on the relay it asks for.
Everything it starts is stopped afterwards, worker processes included, and every temp dir
(uploads, AF_UNIX socket dirs) is removed.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from actors.system import ActorSystem
from tests.support.procs import free_port, kill_all
from tests.support.workers import REPO, worker_cmd


def wsgi_cmd(app: str) -> list[str]:
    """argv of a WSGI app of tests/http_plugin/apps.py run by the adapter."""
    return [
        sys.executable,
        "-m",
        "relays.wsgi",
        "--chdir",
        str(REPO),
        f"tests.http_plugin.apps:{app}",
    ]


class Server:
    """One running ActorSystem with the http plugin, as the tests use it."""

    def __init__(self, system: ActorSystem, scratch: Path) -> None:
        self.system = system
        self.scratch = scratch
        self.uploads = scratch / "uploads"
        self.plugin = system.plugins["http"]
        self.addr: tuple[str, int] = self.plugin.address

    @property
    def pool(self) -> Any:
        return self.plugin.pool

    def workers(self) -> list[dict[str, Any]]:
        return self.pool.workers()

    def execs(self) -> int:
        """Requests the current workers have received (RoadRunner's numExecs)."""
        return sum(w["numExecs"] for w in self.workers())

    def pids(self) -> list[int]:
        return [w["pid"] for w in self.workers()]

    def busy(self) -> bool:
        return any(w["statusStr"] == "working" for w in self.workers())


class Servers:
    """Factory fixture: ``servers(relay=..., pool={...}, http={...})`` starts one server."""

    #: Keys every ``http`` section starts from (``http`` overrides them).
    default_http: dict[str, Any] = {"address": "127.0.0.1:0"}

    def __init__(self) -> None:
        self.started: list[Server] = []
        self.dirs: list[str] = []

    def scratch(self) -> Path:
        # Short on purpose: an AF_UNIX path must fit in ~108 bytes.
        d = tempfile.mkdtemp(prefix="gr-")
        self.dirs.append(d)
        return Path(d)

    def __call__(
        self,
        command: list[str] | str | None = None,
        *,
        relay: str = "pipes",
        pool: dict[str, Any] | None = None,
        http: dict[str, Any] | None = None,
    ) -> Server:
        scratch = self.scratch()
        (scratch / "uploads").mkdir()
        if relay == "tcp":
            dsn = f"tcp://127.0.0.1:{free_port()}"
        elif relay == "unix":
            dsn = f"unix://{scratch}/rr.sock"
        else:
            dsn = relay
        data = {
            "server": {"command": command or worker_cmd("http_app"), "relay": dsn},
            "http": {
                **self.default_http,
                "uploads": {"dir": str(scratch / "uploads")},
                "pool": {
                    "num_workers": 2,
                    "allocate_timeout": "10s",
                    "destroy_timeout": "5s",
                    **(pool or {}),
                },
                **(http or {}),
            },
            "logs": {"level": "error", "mode": "production"},
        }
        system = ActorSystem.from_dict(data)
        system.start()
        server = Server(system, scratch)
        self.started.append(server)
        return server

    def close(self) -> None:
        for server in self.started:
            pids = server.pids()
            server.system.stop(timeout=5)
            kill_all(pids)  # belt and braces: nothing may outlive a test
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)
