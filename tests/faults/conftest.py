"""Fixtures for the fault checklist (spec §4.4): the core and http harnesses, reused.

Every test here runs real worker processes on real relays; the harnesses stop every
ActorSystem they built, SIGKILL any worker left over and remove their short temp dirs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gevent
import pytest

from tests.core.conftest import RELAYS, Harness, alive

__all__ = ["RELAYS", "Harness", "alive", "children", "kill_all", "pids", "wait_for"]


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A short temp dir (AF_UNIX-safe), removed afterwards."""
    d = tempfile.mkdtemp(prefix="gr-")
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


def pids(pool: Any) -> set[int]:
    return {w["pid"] for w in pool.workers()}


def wait_for(cond: Callable[[], Any], timeout: float = 10.0, step: float = 0.05) -> Any:
    """Poll ``cond`` cooperatively (the hub keeps serving); its last value, truthy or not."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value or time.monotonic() > deadline:
            return value
        gevent.sleep(step)


def children(script: str, parent: int | None = None) -> set[int]:
    """Live (non-zombie) children of ``parent`` (default: this process) running ``script``."""
    parent = os.getpid() if parent is None else parent
    out = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == parent and fields[0] != "Z" and script.encode() in cmdline:
            out.add(int(entry.name))
    return out


def kill_all(pids_: set[int] | list[int]) -> None:
    for pid in pids_:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
