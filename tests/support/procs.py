"""Looking at real processes and ports from tests: one copy of each helper.

Everything reads ``/proc`` (Linux), where a zombie still has an entry: a
process counts as alive only if it exists and is not a zombie, which is
what "no process left behind" means.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from collections.abc import Iterable
from pathlib import Path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for configs that need a number up front)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (which may contain spaces)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def state(pid: int) -> str | None:
    """The process state letter (``R``, ``S``, ``Z``...), or None once it is reaped."""
    fields = _stat(pid)
    return fields[0] if fields else None


def ppid(pid: int) -> int:
    fields = _stat(pid)
    return int(fields[1]) if fields else -1


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    return state(pid) not in (None, "Z")


def children(parent: int | None = None, script: str = "") -> set[int]:
    """Live children of ``parent`` (default: this process), optionally running ``script``."""
    parent = os.getpid() if parent is None else parent
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if not fields or fields[0] == "Z" or int(fields[1]) != parent:
            continue
        if script:
            try:
                if script.encode() not in (entry / "cmdline").read_bytes():
                    continue
            except OSError:
                continue
        found.add(int(entry.name))
    return found


def kill_all(pids: Iterable[int]) -> None:
    """SIGKILL whatever is left (belt and braces in fixture teardown)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
