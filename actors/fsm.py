"""The worker state machine: RoadRunner's states, numbers and legal transitions.

The numbers and names are part of the wire contract (``rr workers``, the
informer RPC and PHP's ``WorkerPool`` read them), so they match
``roadrunner-server/pool`` ``fsm/state.go`` exactly.  The one deliberate
difference: state 12 prints as ``execTTLReached`` where RoadRunner prints
``undefined`` (a missing case in its ``String()``).
"""

from __future__ import annotations

import enum
import logging

__all__ = ["IllegalTransition", "State", "WorkerFSM"]

log = logging.getLogger("greenrunner.pool")


class State(enum.IntEnum):
    INACTIVE = 0
    READY = 1
    WORKING = 2
    INVALID = 3
    STOPPING = 4
    STOPPED = 5
    DESTROYED = 6
    MAX_JOBS_REACHED = 7
    ERRORED = 8
    IDLE_TTL_REACHED = 9
    TTL_REACHED = 10
    MAX_MEMORY_REACHED = 11
    EXEC_TTL_REACHED = 12

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    State.INACTIVE: "inactive",
    State.READY: "ready",
    State.WORKING: "working",
    State.INVALID: "invalid",
    State.STOPPING: "stopping",
    State.STOPPED: "stopped",
    State.DESTROYED: "destroyed",
    State.MAX_JOBS_REACHED: "maxJobsReached",
    State.ERRORED: "errored",
    State.IDLE_TTL_REACHED: "idleTTLReached",
    State.TTL_REACHED: "ttlReached",
    State.MAX_MEMORY_REACHED: "maxMemoryReached",
    State.EXEC_TTL_REACHED: "execTTLReached",
}

#: States from which a worker will never serve again: it is on its way out.
RETIRING = frozenset(
    {
        State.INVALID,
        State.STOPPING,
        State.STOPPED,
        State.DESTROYED,
        State.MAX_JOBS_REACHED,
        State.ERRORED,
        State.IDLE_TTL_REACHED,
        State.TTL_REACHED,
        State.MAX_MEMORY_REACHED,
        State.EXEC_TTL_REACHED,
    }
)


class IllegalTransition(Exception):
    """Raised by :meth:`WorkerFSM.require` when a transition is refused."""


def _allowed(current: State, target: State) -> bool:
    # The recognizer of pool/fsm/fsm.go.
    if target is State.DESTROYED:
        return True
    if current is State.DESTROYED:
        return False
    if target is State.READY:
        return current in (State.WORKING, State.INACTIVE)
    if target is State.WORKING:
        return current is State.READY
    return True


class WorkerFSM:
    """Holds one worker's state; every change goes through :meth:`transition`.

    Greenlets share one OS thread, so a check-and-set here is atomic as long
    as nothing yields in between; no lock is needed.
    """

    __slots__ = ("pid", "state")

    def __init__(self, pid: int = 0) -> None:
        self.state = State.INACTIVE
        self.pid = pid

    def transition(self, target: State) -> bool:
        """Move to ``target`` if legal; return whether the state changed.

        A refused transition is not an error (RoadRunner ignores it too): two
        parties may race to retire a worker and only the first one wins.
        """
        if not _allowed(self.state, target):
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "transition refused: %s -> %s (pid %s)",
                    self.state.label,
                    target.label,
                    self.pid,
                )
            return False
        self.state = target
        return True

    def require(self, target: State) -> None:
        """Like :meth:`transition` but raises when refused."""
        if not self.transition(target):
            raise IllegalTransition(f"{self.state.label} -> {target.label}")

    @property
    def retiring(self) -> bool:
        return self.state in RETIRING
