"""Embed Greenrunner in a gevent application: a pool of workers without any HTTP.

Run from anywhere: ``python examples/embed.py``.  It starts two Python echo
workers (``examples/echo_worker.py``), sends them 20 requests from 20
concurrent greenlets, shows the workers, replaces them with ``reset()`` and
stops.  ``pool.exec`` blocks only the calling greenlet, so the 20 requests
share the two workers without threads.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import gevent

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # not needed once greenrunner is pip-installed

from actors import ActorSystem, Payload, Pool  # noqa: E402

CONFIG = {
    "server": {
        "command": [sys.executable, str(ROOT / "examples" / "echo_worker.py")],
        # So the worker finds the SDK (``relays``) without an install.
        "env": {"PYTHONPATH": str(ROOT)},
    },
    "logs": {"level": "warn", "mode": "production"},
}


def ask(pool: Pool, i: int) -> str:
    answer = pool.exec(Payload(f"request {i}".encode()))
    return f"{answer.body.decode()!r} answered by pid {json.loads(answer.context)['pid']}"


def show(workers: list[dict[str, Any]]) -> None:
    for w in workers:
        print(
            f"  pid {w['pid']}: {w['statusStr']}, {w['num_execs']} execs, "
            f"{w['memory_bytes'] / 2**20:.1f} MiB"
        )


def main() -> int:
    system = ActorSystem.from_dict(CONFIG).start()
    try:
        pool = system.new_pool("echo", {"num_workers": 2})
        jobs = [gevent.spawn(ask, pool, i) for i in range(20)]
        gevent.joinall(jobs, raise_error=True)
        print("20 concurrent requests:")
        for job in jobs:
            print("  " + job.value)
        print("workers:")
        show(pool.workers())
        pool.reset()
        print("workers after reset (new processes):")
        show(pool.workers())
    finally:
        system.stop()
    print("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
