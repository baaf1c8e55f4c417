"""Greenrunner's actor system: the public, embeddable API.

``ActorSystem`` loads a ``.rr.yaml`` (or a dict), runs ``on_init``, starts the
configured plugins, and creates pools on demand; a ``Pool`` runs requests on
its workers from any greenlet.  Everything a caller may catch derives from
``PoolError``.
"""

from actors.errors import (
    AllocateError,
    ExecTTLError,
    NoFreeWorkersError,
    PoolError,
    PoolStoppedError,
    QueueFullError,
    WorkerCrashedError,
    WorkerError,
    WorkerProtocolError,
)
from actors.freelist import Cancelled
from actors.pool import Pool, ResponseStream
from actors.system import ActorSystem, StartupError
from relays.payload import Payload

__all__ = [
    "ActorSystem",
    "AllocateError",
    "Cancelled",
    "ExecTTLError",
    "NoFreeWorkersError",
    "Payload",
    "Pool",
    "PoolError",
    "PoolStoppedError",
    "QueueFullError",
    "ResponseStream",
    "StartupError",
    "WorkerCrashedError",
    "WorkerError",
    "WorkerProtocolError",
]
