"""A real ``python -m actors.main`` for a chaos scenario, and what /proc says about it.

The server runs in its own process (as in production), started from a config written to the
test's tmp dir; the test process only sends load, signals and RPC calls.  The worker count is
read from ``/proc`` (live, non-zombie children of the server) by a sampling thread, so it
costs the server nothing and sees a killed worker disappear at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.examples._serve import Server, serve
from tests.support.procs import children, free_port

#: How often the worker count is sampled.
SAMPLE_EVERY = 0.05


def fd_count(pid: int) -> int:
    """Open file descriptors of ``pid`` (/proc/PID/fd)."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` in KiB (/proc/PID/statm, second field)."""
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def config(
    command: list[str] | str,
    port: int,
    *,
    relay: str = "pipes",
    pool: dict[str, Any] | None = None,
    http: dict[str, Any] | None = None,
    rpc_port: int | None = None,
) -> dict[str, Any]:
    """A config for one http pool; ``pool`` and ``http`` add to or override the defaults."""
    data: dict[str, Any] = {
        "version": "3",
        "server": {"command": command, "relay": relay},
        "http": {
            "address": f"127.0.0.1:{port}",
            "pool": {
                "num_workers": 4,
                "allocate_timeout": "10s",
                "destroy_timeout": "5s",
                **(pool or {}),
            },
            **(http or {}),
        },
        "logs": {"level": "error", "mode": "production"},
    }
    if rpc_port is not None:
        data["rpc"] = {"listen": f"tcp://127.0.0.1:{rpc_port}"}
    return data


@contextlib.contextmanager
def running(tmp: Path, data: dict[str, Any], port: int) -> Iterator[Server]:
    """Write ``data`` as the config and run the server on it; everything is gone afterwards."""
    path = tmp / "chaos.rr.yaml"
    path.write_text(json.dumps(data, indent=2))  # JSON is YAML
    with serve(["-c", str(path)], tmp / "server.log", port, startup=30.0) as server:
        yield server


def ports() -> tuple[int, int]:
    """Two free ports: http and rpc."""
    return free_port(), free_port()


def relay_dsn(kind: str, tmp_dir: str) -> str:
    """The ``server.relay`` of a relay kind (``tmp_dir`` short enough for AF_UNIX)."""
    if kind == "tcp":
        return f"tcp://127.0.0.1:{free_port()}"
    if kind == "unix":
        return f"unix://{tmp_dir}/rr.sock"
    return "pipes"


class WorkerCount:
    """Samples how many workers the server has, until :meth:`stop`.

    ``floor`` is the count below which the pool is degraded; :attr:`longest_below` is the
    longest stretch spent below it, :attr:`total_below` the sum of all such stretches.
    """

    def __init__(self, pid: int, floor: int, limit: float) -> None:
        self.pid = pid
        self.floor = floor
        self.samples: list[tuple[float, int]] = []
        self.longest_below = 0.0
        self.total_below = 0.0
        self._limit = limit
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-worker-count", daemon=True)

    def start(self) -> WorkerCount:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    @property
    def minimum(self) -> int:
        return min((n for _, n in self.samples), default=0)

    @property
    def maximum(self) -> int:
        return max((n for _, n in self.samples), default=0)

    def _run(self) -> None:
        deadline = time.monotonic() + self._limit
        below_since: float | None = None
        while not self._stop.is_set() and time.monotonic() < deadline:
            now = time.monotonic()
            n = len(children(self.pid))
            self.samples.append((now, n))
            if n < self.floor and below_since is None:
                below_since = now
            elif n >= self.floor and below_since is not None:
                self._close_stretch(now - below_since)
                below_since = None
            self._stop.wait(SAMPLE_EVERY)
        if below_since is not None:
            self._close_stretch(time.monotonic() - below_since)

    def _close_stretch(self, length: float) -> None:
        self.total_below += length
        self.longest_below = max(self.longest_below, length)
