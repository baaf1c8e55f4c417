"""The tcp tests' harness: a real ActorSystem with a ``tcp`` section, real worker processes
and loopback clients.

The server runs on the test's gevent hub, so clients use gevent sockets (a
blocking socket would stop the server it talks to); RPC calls, made with the
blocking SDK client, go through the hub's threadpool.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import gevent
import pytest
from gevent import socket

from actors.system import ActorSystem
from relays.rpc import RPC
from tests.support.procs import free_port, kill_all

WORKERS = Path(__file__).resolve().parent / "workers"
PY_WORKER = [sys.executable, str(WORKERS / "app.py")]
PHP_WORKER = ["php", str(WORKERS / "tcp_worker.php")]

needs_php = pytest.mark.skipif(
    shutil.which("php") is None,
    reason="php-cli is not installed (apt-get install php-cli): PHP-style tcp worker not tested",
)


class Client:
    """One loopback client connection (gevent socket, so the server keeps running)."""

    def __init__(self, address: tuple[str, int], timeout: float = 10.0) -> None:
        self.sock = socket.create_connection(address, timeout=timeout)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv_until(self, end: bytes) -> bytes:
        """Everything up to and including ``end``; fails on EOF or timeout."""
        while end not in self.buffer:
            chunk = self.sock.recv(65536)
            assert chunk, f"connection closed before {end!r}; got {self.buffer!r}"
            self.buffer += chunk
        index = self.buffer.index(end) + len(end)
        data, self.buffer = self.buffer[:index], self.buffer[index:]
        return data

    def ask(self, line: bytes, end: bytes = b"\r\n") -> bytes:
        self.send(line)
        return self.recv_until(end)

    def read_to_eof(self) -> bytes:
        """Whatever arrives until the server closes (raises on timeout: it did not close)."""
        data = self.buffer
        self.buffer = b""
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                return data
            data += chunk

    def close(self) -> None:
        self.sock.close()


class TcpHarness:
    """Builds a tcp ActorSystem and stops it, and every worker, afterwards."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.short_dir = tempfile.mkdtemp(prefix="gr-")
        self.systems: list[ActorSystem] = []
        self.clients: list[Client] = []
        self.log = tmp_path / "events.log"

    def start(
        self,
        worker: list[str] = PY_WORKER,
        *,
        app: str = "echo",
        relay: str = "pipes",
        servers: dict[str, Any] | None = None,
        rpc: bool = False,
        num_workers: int = 2,
        log: bool = True,
        sections: dict[str, Any] | None = None,
        **tcp: Any,
    ) -> ActorSystem:
        dsn = {
            "pipes": "pipes",
            "tcp": f"tcp://127.0.0.1:{free_port()}",
            "unix": f"unix://{self.short_dir}/rr.sock",
        }[relay]
        state = self.tmp_path / "state"
        state.mkdir(exist_ok=True)
        data: dict[str, Any] = {
            "server": {
                "command": worker,
                "relay": dsn,
                "env": {
                    "TCP_APP": app,
                    "TCP_LOG": str(self.log) if log else "",
                    "TCP_STATE": str(state),
                },
            },
            "logs": {"level": "error", "mode": "production"},
            "tcp": {
                "servers": servers or {"echo": {"addr": "127.0.0.1:0"}},
                "pool": {"num_workers": num_workers, "allocate_timeout": "10s"},
                **tcp,
            },
        }
        if rpc:
            data["rpc"] = {"listen": "tcp://127.0.0.1:0"}
        data.update(sections or {})
        system = ActorSystem.from_dict(data)
        self.systems.append(system)
        return system.start()

    def address(self, server: str = "echo") -> tuple[str, int]:
        return self.systems[-1].plugins["tcp"].address(server)

    def connect(self, server: str = "echo", timeout: float = 10.0) -> Client:
        client = Client(self.address(server), timeout)
        self.clients.append(client)
        return client

    def rpc(self, method: str, arg: Any) -> Any:
        address = self.systems[-1].rpc.address

        def call() -> Any:
            with RPC.create(address, timeout=10) as rpc:
                return rpc.call(method, arg)

        return gevent.get_hub().threadpool.apply(call)

    def events(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def close(self) -> None:
        for client in self.clients:
            client.close()
        pids = []
        for system in self.systems:
            for pool in system.pools.values():
                pids += [w["pid"] for w in pool.workers()]
            system.stop(timeout=3)
        kill_all(pids)
        shutil.rmtree(self.short_dir, ignore_errors=True)
