"""The RPC plugin's server side: goridge RPC (Go net/rpc over goridge frames) on gevent.

Modules, one concept each: :mod:`~actors.rpc.wire` (request/reply frames),
:mod:`~actors.rpc.codecs` and :mod:`~actors.rpc.gob` (arguments and results),
:mod:`~actors.rpc.registry` (``Service.Method`` lookup), :mod:`~actors.rpc.listen` (binding),
:mod:`~actors.rpc.connection` (one client) and :mod:`~actors.rpc.server` (the listener).
The worker-side client is :mod:`relays.rpc` (standard library only).
"""

from actors.rpc.errors import CallError, RpcListenError, ServiceError
from actors.rpc.registry import ServiceRegistry
from actors.rpc.server import RpcServer

__all__ = ["CallError", "RpcListenError", "RpcServer", "ServiceError", "ServiceRegistry"]
