"""When to replace a worker that died: at once, or after a crash-loop pause."""

from __future__ import annotations

import time

from actors.worker import WorkerHandle

__all__ = ["HEALTHY_LIFETIME", "MAX_CRASH_LOOP_BACKOFF", "CrashLoop"]

#: The longest pause between restarts of workers that keep dying right after starting.
MAX_CRASH_LOOP_BACKOFF = 10.0
#: A worker that lived this long before dying was not part of a crash loop.
HEALTHY_LIFETIME = 5.0
#: A minute without a fast death forgets the earlier ones.
QUIET_PERIOD = 60.0


class CrashLoop:
    """Back off when workers die unexpectedly soon after starting.

    A worker that boots, answers the handshake and dies would otherwise be
    replaced as fast as it boots, burning CPU and flooding the logs.  The
    third such death in a row waits 0.25 s, then the wait doubles up to
    ``MAX_CRASH_LOOP_BACKOFF``; a planned exit, a worker that lived
    ``HEALTHY_LIFETIME`` or a quiet minute resets the count.  A worker killed
    by a signal the server did not send after it served a request (an operator,
    a chaos script, the OOM killer) did not crash-loop: it is replaced at once
    and not counted.  Owned by the PoolActor (called from its inbox only).
    """

    __slots__ = ("_fast_deaths", "_last_fast_death")

    def __init__(self) -> None:
        self._fast_deaths = 0
        self._last_fast_death = 0.0

    def delay(self, handle: WorkerHandle) -> float:
        """Seconds to wait before replacing ``handle``, which just exited."""
        now = time.monotonic()
        if handle.exit_expected or now - handle.created >= HEALTHY_LIFETIME:
            self._fast_deaths = 0
            return 0.0
        if handle.num_execs and handle.process.killed_from_outside:
            return 0.0
        if now - self._last_fast_death > QUIET_PERIOD:
            self._fast_deaths = 0
        self._last_fast_death = now
        self._fast_deaths += 1
        if self._fast_deaths < 3:
            return 0.0
        return min(0.25 * 2 ** (self._fast_deaths - 3), MAX_CRASH_LOOP_BACKOFF)
