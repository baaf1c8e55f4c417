"""RoadRunner's ``status`` plugin: health, readiness and jobs endpoints (see ``server.py``)."""

from actors.status.probe import PluginProbe, WorkersProbe, health_code, ready_code
from actors.status.server import StatusServer

__all__ = ["PluginProbe", "StatusServer", "WorkersProbe", "health_code", "ready_code"]
