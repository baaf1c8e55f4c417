"""``greenrunner workers [-i] [plugin...]``: RoadRunner's ``rr workers`` against a running server.

Asks ``informer.List`` (when no plugin is named), then ``informer.Workers`` and
``informer.Jobs`` per plugin, and prints ``rr``'s tables. ``-i`` redraws them in place
every second until Ctrl-C, for watching workers recycle during a deploy.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TextIO

from actors.cli.client import CommandError
from actors.cli.table import jobs_table, render_table, workers_table
from relays.rpc import RPC, RPCError, ServiceError

__all__ = ["render", "run"]

_CLEAR = "\x1b[2J"
_HOME = "\x1b[H"
_CLEAR_BELOW = "\x1b[J"


def render(rpc: RPC, plugins: Sequence[str]) -> str:
    """The report for ``plugins`` (every plugin when empty), as ``rr workers`` prints it."""
    try:
        names = list(plugins) or sorted(rpc.call("informer.List", True) or [])
    except ServiceError as exc:
        raise CommandError(f"informer.List failed: {exc}") from None
    out: list[str] = []
    for name in names:
        try:
            workers = (rpc.call("informer.Workers", name) or {}).get("workers") or []
        except ServiceError as exc:
            out.append(render_table(("PID", "STATUS"), [("0", str(exc))]))
            continue
        if workers:
            out.append(f"Workers of [{name}]:")
            out.append(workers_table(workers))
    for name in names:
        try:
            jobs = rpc.call("informer.Jobs", name) or []
        except ServiceError:
            continue
        if jobs:
            out.append(f"Jobs of [{name}]:")
            out.append(jobs_table(jobs))
    return "\n".join(out) + ("\n" if out else "")


def run(rpc: RPC, plugins: Sequence[str], interactive: bool, out: TextIO = sys.stdout) -> int:
    """Print once, or every second in place with ``interactive``; 0 on success."""
    try:
        if not interactive:
            out.write(render(rpc, plugins))
            return 0
        out.write(_CLEAR)
        while True:
            out.write(_HOME + render(rpc, plugins) + _CLEAR_BELOW)
            out.flush()
            time.sleep(1.0)
    except KeyboardInterrupt:
        return 0
    except RPCError as exc:
        raise CommandError(f"lost the server at {rpc.address}: {exc}") from None
