"""``informer.*``: what ``rr workers`` and PHP's ``WorkerPool`` ask (workers, jobs, scaling).

Reply shapes are RoadRunner's, typed the way the PHP client reads them: ``pid``,
``status``, ``numExecs``, ``created`` (unix ns) and ``memoryUsage`` are ints,
``CPUPercent`` a float. A known plugin with no worker answers ``{"workers": []}``
(RoadRunner's ``null`` breaks ``WorkerPool::getWorkers()``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actors.system import ActorSystem

__all__ = ["InformerService"]

#: The keys of RoadRunner's ``process.State``, in its order.
STATE_KEYS = ("pid", "status", "numExecs", "created", "memoryUsage", "CPUPercent", "command")


def rr_state(worker: dict[str, Any]) -> dict[str, Any]:
    """One worker as RoadRunner's informer shows it (Greenrunner's extra keys dropped)."""
    return {
        "pid": int(worker.get("pid", 0)),
        "status": int(worker.get("status", 0)),
        "numExecs": int(worker.get("numExecs", 0)),
        "created": int(worker.get("created", 0)),
        "memoryUsage": int(worker.get("memoryUsage", 0)),
        "CPUPercent": float(worker.get("CPUPercent", 0.0)),
        "command": str(worker.get("command", "")),
        "statusStr": str(worker.get("statusStr", "")),
    }


class InformerService:
    """RoadRunner's ``informer`` plugin over the system's pools (one per plugin).

    Methods carry the wire names (Go's exported ``List``, ``AddWorker``...), so a
    reader can grep a client's call.
    """

    def __init__(self, system: ActorSystem) -> None:
        self._system = system

    def List(self, _: Any = None) -> list[str]:
        """Every plugin that has workers."""
        return sorted(self._system.pools)

    def Workers(self, plugin: str) -> dict[str, list[dict[str, Any]] | None]:
        """``{"workers": [...]}``; ``null`` only for a name no plugin has, as RoadRunner."""
        pool = self._system.pools.get(str(plugin))
        if pool is None:
            return {"workers": None}
        return {"workers": [rr_state(w) for w in pool.workers()]}

    def Jobs(self, plugin: str) -> list[dict[str, Any]] | None:
        """Jobs pipelines of a jobs plugin; ``null`` for the others, as RoadRunner."""
        jobs = getattr(self._system.plugins.get(str(plugin)), "jobs_state", None)
        return jobs() if callable(jobs) else None

    def AddWorker(self, plugin: str) -> bool:
        """Grow the plugin's pool by one supervised worker."""
        self._system.add_worker(str(plugin))
        return True

    def RemoveWorker(self, plugin: str) -> bool:
        """Shrink the plugin's pool by one worker (an idle one, stopped gracefully)."""
        self._system.remove_worker(str(plugin))
        return True
