"""Fixtures for the fault checklist (spec §4.4): the core and http harnesses, reused.

Every test here runs real worker processes on real relays; the harnesses stop every
ActorSystem they built, SIGKILL any worker left over and remove their short temp dirs.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.core.conftest import RELAYS, Harness
from tests.procs import alive, children, kill_all, wait_for

__all__ = ["RELAYS", "Harness", "alive", "children", "kill_all", "pids", "wait_for"]


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A short temp dir (AF_UNIX-safe), removed afterwards."""
    d = tempfile.mkdtemp(prefix="gr-")
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


def pids(pool: Any) -> set[int]:
    return {w["pid"] for w in pool.workers()}
