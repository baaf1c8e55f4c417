"""``greenrunner jobs <pause|resume|destroy|list> [pipeline...]``: RoadRunner's ``rr jobs``.

``rr`` spells it ``rr jobs --pause p1,p2`` (and ``--resume``, ``--destroy``, ``--list``);
both spellings work here, and names may be given as separate words or comma-separated.
The pipelines touched (or, for ``list``, every pipeline) are printed in ``rr``'s one-column
``PIPELINE(S)`` table; ``-s`` prints nothing on success.  A server error (an unknown
pipeline, say) is one line on stderr and exit status 1.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from actors.cli.client import CommandError
from actors.cli.table import render_table
from relays.jobs import Jobs
from relays.rpc import RPC, RPCError, ServiceError

__all__ = ["ACTIONS", "pipelines_table", "run"]

#: The sub-commands, as ``rr jobs`` names its flags.
ACTIONS = ("pause", "resume", "destroy", "list")


def pipelines_table(names: Sequence[str]) -> str:
    """``rr jobs``' table: one column, ``PIPELINE(S)``, one row per pipeline."""
    return render_table(("PIPELINE(S)",), [(name,) for name in names])


def split_names(words: Sequence[str]) -> list[str]:
    """``a,b c`` → ``[a, b, c]`` (``rr`` takes one comma-separated argument)."""
    return [name.strip() for word in words for name in word.split(",") if name.strip()]


def run(
    rpc: RPC, action: str, pipelines: Sequence[str], silent: bool, out: TextIO = sys.stdout
) -> int:
    """Do ``action`` on ``pipelines`` and print the table; 0 on success."""
    jobs = Jobs(rpc)
    names = split_names(pipelines)
    if action != "list" and not names:
        raise CommandError(
            f"incorrect command usage, should be: greenrunner jobs {action} pipe1,pipe2"
        )
    try:
        if action == "pause":
            jobs.pause(*names)
        elif action == "resume":
            jobs.resume(*names)
        elif action == "destroy":
            names = jobs.destroy(*names)
        else:
            names = jobs.list()
            silent = False
    except ServiceError as exc:
        raise CommandError(f"jobs {action} failed: {exc.text}") from None
    except RPCError as exc:
        raise CommandError(f"lost the server at {rpc.address}: {exc}") from None
    if not silent:
        out.write(pipelines_table(names) + "\n")
    return 0
