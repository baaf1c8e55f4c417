"""The tcp plugin: raw TCP servers whose connections are served by a worker pool.

``plugin.py`` owns the listeners, the pool and the open connections;
``connection.py`` runs one connection (events in, answers out);
``framing.py`` cuts the byte stream into messages; ``events.py`` holds the
wire vocabulary shared with the workers; ``service.py`` is ``tcp.Close`` on RPC.
"""

from actors.plugins.tcp.plugin import TcpPlugin
from actors.plugins.tcp.service import TcpService

__all__ = ["TcpPlugin", "TcpService"]
