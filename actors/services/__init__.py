"""The RPC services an operator and the workers call: RoadRunner's names and reply shapes.

One module per service (``informer``, ``resetter``, ``rpc``); each reads the
:class:`~actors.system.ActorSystem` facade only, so the services never reach into a
pool's or a worker's state. :func:`register_all` puts them in a registry.
"""

from actors.services.registry import register_all

__all__ = ["register_all"]
