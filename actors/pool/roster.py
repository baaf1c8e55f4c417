"""The pool's members as one immutable tuple, published by the PoolActor.

The PoolActor is the only writer: it publishes a new tuple (sorted by pid)
every time a worker joins or leaves.  Readers (``Pool.workers()``, the
supervisor's tick, the reset's wait for idle workers) read the current tuple
without asking the actor, so a listing never waits behind the actor's inbox
and always sees a consistent set.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from actors.worker import WorkerHandle

__all__ = ["Roster"]


class Roster:
    """A published, read-only snapshot of a pool's workers."""

    __slots__ = ("_members",)

    def __init__(self) -> None:
        self._members: tuple[WorkerHandle, ...] = ()

    @property
    def members(self) -> tuple[WorkerHandle, ...]:
        """The workers of the pool, by pid (an immutable snapshot)."""
        return self._members

    def publish(self, handles: Iterable[WorkerHandle]) -> None:
        """Replace the snapshot.  Only the owning PoolActor calls this."""
        self._members = tuple(sorted(handles, key=lambda h: h.pid))
