"""``tcp.*`` on RPC: RoadRunner's tcp plugin service (``rpc.go``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from actors.plugins.tcp.plugin import TcpPlugin

__all__ = ["TcpService"]


class TcpService:
    """``tcp.Close(uuid)``: an application closes one client connection from outside,
    e.g. a chat server kicking a user from the worker that handles another one."""

    def __init__(self, plugin: TcpPlugin) -> None:
        self._plugin = plugin

    def Close(self, uuid: str) -> bool:
        """Close the connection ``uuid``; an unknown uuid is not an error (as in RoadRunner:
        the connection may have ended on its own). The worker still gets its ``CLOSE`` event."""
        self._plugin.close(str(uuid))
        return True
