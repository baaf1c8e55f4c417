"""What it takes to start one worker of a pool."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from actors.process import Credentials

if TYPE_CHECKING:
    from actors.worker.handle import WorkerHandle
    from relays.dsn import RelayAddress
    from relays.server.socket import SocketListener

__all__ = ["DEFAULT_MAX_FRAME_SIZE", "MAX_JOBS_JITTER", "WorkerSpec", "jittered_max_jobs"]

#: Jitter added to max_jobs, in percent (RoadRunner: maxExecsPercentJitter).
MAX_JOBS_JITTER = 15
#: The default of ``server.max_frame_size``: far above any sane answer (a whole
#: non-streamed response body is one frame), far below the 4 GiB a broken worker can
#: announce. No plugin bounds what a worker answers (http.max_request_size bounds the
#: request), so it is one server-wide cap; big files go out as stream chunks, each
#: a frame of its own.
DEFAULT_MAX_FRAME_SIZE = 256 << 20


@dataclass
class WorkerSpec:
    """Everything needed to start one worker of a pool."""

    command: list[str]
    env: dict[str, str]
    relay: RelayAddress
    credentials: Credentials = field(default_factory=Credentials)
    allocate_timeout: float = 60.0
    relay_timeout: float = 60.0
    max_jobs: int = 0
    #: Bytes: a frame from the worker announcing a bigger payload kills it (BAD_FRAME).
    max_frame_size: int = DEFAULT_MAX_FRAME_SIZE
    #: The shared listener workers connect to (tcp/unix relays); None for pipes.
    listener: SocketListener | None = None
    command_key: str = "server.command"
    cwd: str | None = None
    #: Told (by the exit watcher greenlet) once the process is gone and cleaned up.
    on_exit: Callable[[WorkerHandle], None] | None = None


def jittered_max_jobs(max_jobs: int) -> int:
    """Spread restarts so workers started together do not all recycle at once."""
    if max_jobs <= 1:
        return max_jobs
    return max_jobs + (max_jobs * random.randrange(MAX_JOBS_JITTER)) // 100
