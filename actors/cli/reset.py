"""``greenrunner reset [plugin...]``: RoadRunner's ``rr reset`` against a running server.

Every plugin (all of ``resetter.List`` when none is named) is reset concurrently, as
``rr`` does, with a line when each starts and ends. Unlike ``rr``, a failed reset is
printed and makes the exit status 1, so a deploy script notices it.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from typing import TextIO

from actors.cli.client import CommandError
from relays.rpc import RPC, RPCError

__all__ = ["run"]


def run(
    connect: Callable[[], RPC], plugins: Sequence[str], silent: bool, out: TextIO = sys.stdout
) -> int:
    """Reset ``plugins`` in parallel (one connection each); 0 when every reset succeeded."""
    with connect() as rpc:
        try:
            names = list(plugins) or sorted(rpc.call("resetter.List", True) or [])
        except RPCError as exc:
            raise CommandError(f"resetter.List failed: {exc}") from None
    failures: dict[str, str] = {}
    lock = threading.Lock()

    def say(line: str) -> None:
        if not silent:
            with lock:
                out.write(line + "\n")
                out.flush()

    def reset(name: str) -> None:
        say(f"resetting plugin: [{name}]")
        try:
            with connect() as rpc:
                rpc.call("resetter.Reset", name)
        except (RPCError, CommandError) as exc:
            failures[name] = str(exc)
            with lock:
                out.write(f"plugin reset failed: [{name}]: {exc}\n")
            return
        say(f"plugin reset: [{name}]")

    threads = [threading.Thread(target=reset, args=(n,), daemon=True) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return 1 if failures else 0
