"""Why a worker leaves the pool, and what to do with a worker after a request.

A retirement used to be a free string compared in several modules; it is
now a :class:`RetireReason` member that carries three facts at once:

* ``text``: what the logs print (RoadRunner-like: ``max_jobs``, ``ttl``...);
* ``expected``: whether the exit was planned (a limit, a reset) or a fault
  of the worker (a crash, a broken relay, a garbled frame).  The pool logs
  planned exits at INFO, faults at WARNING, and only faults count towards
  its crash-loop backoff;
* ``state``: the :class:`~actors.fsm.State` a worker moves to when it is
  retired for this reason.

:class:`Verdict` is the answer of :meth:`WorkerHandle.release
<actors.worker.handle.WorkerHandle.release>` and :meth:`WorkerHandle.retire
<actors.worker.handle.WorkerHandle.retire>`: keep the worker, stop it now,
stop it when its request ends, or nothing to do (it is dying already).
"""

from __future__ import annotations

import enum

from actors.fsm import State

__all__ = ["RetireReason", "Verdict"]


class RetireReason(enum.Enum):
    """Why a worker stopped serving.  Values are ``(text, expected, state)``."""

    # Limits: planned recycling.
    MAX_JOBS = ("max_jobs", True, State.MAX_JOBS_REACHED)
    TTL = ("ttl", True, State.TTL_REACHED)
    IDLE_TTL = ("idle_ttl", True, State.IDLE_TTL_REACHED)
    MEMORY = ("max_worker_memory", True, State.MAX_MEMORY_REACHED)
    EXEC_TTL = ("execTTL timeout elapsed", True, State.EXEC_TTL_REACHED)
    # The request path gave the worker up on purpose.
    STOP_REQUESTED = ("worker requested stop", True, State.INVALID)
    INTERRUPTED = ("request interrupted", True, State.INVALID)
    STREAM_ERROR = ("error frame in the middle of a stream", True, State.INVALID)
    STREAM_NOT_STOPPED = ("stream not stopped in time", True, State.ERRORED)
    # Lifecycle of the pool: the worker is not replaced.
    RESET = ("reset", True, State.DESTROYED)
    DESTROY = ("pool destroyed", True, State.DESTROYED)
    DEBUG = ("debug mode: one request per worker", True, State.DESTROYED)
    ABANDONED = ("spawned but no longer wanted", True, State.DESTROYED)
    REMOVED = ("removed from the pool (informer.RemoveWorker)", True, State.DESTROYED)
    # Faults of the worker.
    BAD_FRAME = ("bad response frame", False, State.ERRORED)
    BROKEN = ("relay broken", False, State.ERRORED)
    CRASHED = ("exited on its own", False, State.ERRORED)

    def __init__(self, text: str, expected: bool, state: State) -> None:
        self.text = text
        #: True for a planned retirement, False for a fault of the worker.
        self.expected = expected
        self.state = state

    def __str__(self) -> str:
        return self.text


class Verdict(enum.Enum):
    """What the caller of ``release``/``retire`` must do with the worker next."""

    #: Ready again: put it back on the free list.
    KEEP = "keep"
    #: Must not serve again and nobody is using it: stop it now.
    STOP = "stop"
    #: Busy: it was marked ``invalid`` and is stopped when its request ends.
    DEFERRED = "deferred"
    #: Already killed or on its way out: nothing to do.
    GONE = "gone"
