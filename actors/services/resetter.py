"""``resetter.*``: ``rr reset`` and deploy scripts replace a plugin's workers.

RoadRunner's sequence: in-flight requests finish (within ``reset_timeout``), new ones
wait, then every worker is replaced. The call returns when the new workers are up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actors.system import ActorSystem

__all__ = ["ResetterService"]


class ResetterService:
    """RoadRunner's ``resetter`` plugin over the system's pools."""

    def __init__(self, system: ActorSystem) -> None:
        self._system = system

    def List(self, _: Any = None) -> list[str]:
        """Every plugin that can be reset."""
        return sorted(self._system.pools)

    def Reset(self, plugin: str) -> bool:
        """Replace every worker of ``plugin``; ``no such plugin: X`` for an unknown name."""
        self._system.reset(str(plugin))
        return True
