"""Where the fixture workers live (tests/workers/) and the argv that starts them."""

from __future__ import annotations

import sys
from pathlib import Path

#: The repository root: the working directory of every server or worker a test starts.
REPO = Path(__file__).resolve().parents[2]
WORKERS = REPO / "tests" / "workers"
#: Every relay kind a worker can talk over; tests parametrized on it run once per kind.
RELAYS = ["pipes", "tcp", "unix"]


def worker_cmd(name: str) -> list[str]:
    """argv of the fixture worker ``tests/workers/<name>.py``, on this interpreter."""
    return [sys.executable, str(WORKERS / f"{name}.py")]


def inline_cmd(code: str) -> list[str]:
    """argv of a worker whose whole program is ``code`` (for one-off misbehaviours)."""
    return [sys.executable, "-c", code]
