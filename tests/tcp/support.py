"""The few process and waiting helpers the tcp tests need, kept here so the folder does not
depend on where the shared test helpers live (they are being moved to ``tests/support``)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import gevent

T = TypeVar("T")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for a relay DSN that needs a number)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def kill_all(pids: Iterable[int]) -> None:
    """SIGKILL whatever is left (fixture teardown: no worker may outlive a test)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def wait_until(predicate: Callable[[], T], timeout: float = 10.0, what: str = "") -> T:
    """Poll ``predicate`` cooperatively (the server on this hub keeps serving) until it is
    truthy; fail the test after ``timeout`` seconds, naming what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        gevent.sleep(0.02)
