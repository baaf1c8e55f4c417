"""What the status endpoints ask a plugin, and the rule a worker pool answers with.

A plugin is probed through two HTTP-like codes (RoadRunner's ``Status()`` for ``/health`` and
``Ready()`` for ``/ready``): ``None`` means "not available", an exception is a checker error whose
text ends up in the report.  The rule of the pool owners (http, jobs...) is RoadRunner's
``status.go``: healthy while at least one worker is alive (ready or working), ready while at least
one worker is ``ready``; otherwise 503, which the status server maps to its
``unavailable_status_code``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["OK", "UNAVAILABLE", "PluginProbe", "WorkersProbe", "health_code", "ready_code"]

OK = 200
#: What RoadRunner's plugins return when no worker qualifies (a literal 503, whatever the
#: status plugin's ``unavailable_status_code`` is; the status plugin maps every 5xx to it).
UNAVAILABLE = 503

_ALIVE = frozenset(("ready", "working"))

WorkerList = Sequence[Mapping[str, Any]]


class PluginProbe(Protocol):
    """One plugin as the status server sees it."""

    def health(self) -> int | None:
        """HTTP-like code for ``/health``; ``None`` when the plugin is not available."""
        ...

    def ready(self) -> int | None:
        """HTTP-like code for ``/ready``; ``None`` when the plugin is not available."""
        ...


def health_code(workers: WorkerList) -> int:
    """200 if any worker is ``ready`` or ``working`` (RoadRunner's ``IsActive``), else 503."""
    return OK if any(w.get("statusStr") in _ALIVE for w in workers) else UNAVAILABLE


def ready_code(workers: WorkerList) -> int:
    """200 if any worker is ``ready`` (a request would be taken now), else 503."""
    return OK if any(w.get("statusStr") == "ready" for w in workers) else UNAVAILABLE


@dataclass(frozen=True)
class WorkersProbe:
    """The probe of a plugin that owns a pool: ``workers`` is e.g. ``Pool.workers``."""

    workers: Callable[[], WorkerList]

    def health(self) -> int:
        return health_code(self.workers())

    def ready(self) -> int:
        return ready_code(self.workers())
