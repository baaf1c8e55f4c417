"""Services by name, and the lookup of ``Service.Method`` with net/rpc's error texts.

A service is any object; its callable attributes are its methods.  As in net/rpc only
exported names are callable: the method part of ``Service.Method`` must start with an
upper-case letter.  It is looked up as written (``Workers``), then in snake case
(``AddWorker`` finds ``add_worker``), so Python services may follow either naming.  A method
takes the decoded argument and returns a JSON-able value or ``bytes``; it runs in its own
greenlet and may block cooperatively.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from actors.rpc.errors import CallError

__all__ = ["Method", "ServiceRegistry"]

Method = Callable[[Any], Any]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def _snake(name: str) -> str:
    """``AddWorker`` -> ``add_worker``, ``CPUPercent`` -> ``cpu_percent``."""
    return _CAMEL.sub("_", name).lower()


class ServiceRegistry:
    """The services an :class:`~actors.rpc.server.RpcServer` dispatches to.

    Owned by whoever builds the server; registering while serving is fine (one hub, no
    threads), calls in flight keep the method they resolved.
    """

    def __init__(self) -> None:
        self._services: dict[str, object] = {}

    def register(self, name: str, service: object) -> None:
        """Serve ``service``'s methods as ``name.Method``; a name may be registered once."""
        if not name or "." in name:
            raise ValueError(f"a service name must be non-empty and without dots, got {name!r}")
        if name in self._services:
            raise ValueError(f"service {name!r} is already registered; unregister it first")
        self._services[name] = service

    def unregister(self, name: str) -> None:
        """Stop serving ``name`` (no error if it was not registered)."""
        self._services.pop(name, None)

    def names(self) -> list[str]:
        """The registered service names, sorted."""
        return sorted(self._services)

    def resolve(self, service_method: str) -> Method:
        """The callable for ``Service.Method``, or :class:`CallError` worded as net/rpc's."""
        service_name, dot, method_name = service_method.rpartition(".")
        if not dot:
            raise CallError(f"rpc: service/method request ill-formed: {service_method}")
        service = self._services.get(service_name)
        if service is None:
            raise CallError(f"rpc: can't find service {service_method}")
        if method_name[:1].isupper() and method_name.isidentifier():
            for attr in (method_name, _snake(method_name)):
                method = getattr(service, attr, None)
                if callable(method):
                    return method
        raise CallError(f"rpc: can't find method {service_method}")
