"""One worker: its spec, its handle (the request path) and its actor (the process).

The :class:`WorkerActor` owns the process: it spawns it, performs the relay
handshake, watches for its exit (told upward to the pool) and stops or kills
it.  The :class:`WorkerHandle` is what a request greenlet holds while the
worker is checked out of the free list: it writes the request frame and
reads the answer directly on the relay, so a request costs no actor hop.
"""

from actors.worker.actor import (
    STOP_GRACE,
    WorkerActor,
    start_worker,
    start_workers,
    stop_workers,
)
from actors.worker.handle import WorkerHandle, rss_bytes
from actors.worker.reason import RetireReason, Verdict
from actors.worker.spec import WorkerSpec, jittered_max_jobs

__all__ = [
    "STOP_GRACE",
    "RetireReason",
    "Verdict",
    "WorkerActor",
    "WorkerHandle",
    "WorkerSpec",
    "jittered_max_jobs",
    "rss_bytes",
    "start_worker",
    "start_workers",
    "stop_workers",
]
