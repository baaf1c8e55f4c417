"""Errors a pool caller can see.

Each text keeps RoadRunner's ``<op>: <Kind>: <cause>`` shape (so log searches
and runbooks written for RoadRunner still match) and adds what to do about it.
Callers that only care about the category catch :class:`PoolError`.
"""

from __future__ import annotations

__all__ = [
    "AllocateError",
    "ExecTTLError",
    "NoFreeWorkersError",
    "PoolError",
    "PoolStoppedError",
    "QueueFullError",
    "WorkerCrashedError",
    "WorkerError",
    "WorkerProtocolError",
]


class PoolError(Exception):
    """Base of every error :meth:`actors.pool.Pool.exec` raises."""

    kind = "Pool"
    #: True when the request never reached a worker (safe to retry elsewhere).
    before_exec = False


class NoFreeWorkersError(PoolError):
    """No worker became free within ``allocate_timeout``."""

    kind = "NoFreeWorkers"
    before_exec = True


class QueueFullError(PoolError):
    """``max_queue_size`` requests were already waiting or running."""

    kind = "QueueSize"
    before_exec = True


class PoolStoppedError(PoolError):
    """The pool was destroyed (or is being destroyed) and takes no more work."""

    kind = "WatcherStopped"
    before_exec = True


class AllocateError(PoolError):
    """A worker could not be spawned (bad command, boot failure, handshake timeout)."""

    kind = "WorkerAllocate"
    before_exec = True


class WorkerError(PoolError):
    """The worker answered with an error frame; the worker itself is kept (soft error)."""

    kind = "SoftJobError"


class WorkerCrashedError(PoolError):
    """The worker died or closed its relay while handling the request."""

    kind = "Network"


class WorkerProtocolError(PoolError):
    """The worker sent something that is not a valid goridge response (e.g. stdout junk)."""

    kind = "Decode"


class ExecTTLError(PoolError):
    """The request ran longer than ``supervisor.exec_ttl``; the worker was killed."""

    kind = "ExecTTL"
