"""Binding the RPC listener: the shared socket rules of :mod:`relays.server.listen`, RPC's way.

A unix socket on which a server still answers is refused rather than replaced (workers and
``rr`` would keep talking to it), and the file gets mode 0600: whoever can connect can reset
pools and read the whole configuration (``rpc.Config``).
"""

from __future__ import annotations

from actors.rpc.errors import RpcListenError
from relays.dsn import RelayAddress, parse_relay_dsn
from relays.errors import RelayDSNError
from relays.server import listen
from relays.server.listen import Bound, remove_unix_socket

__all__ = ["Bound", "bind", "parse_listen", "remove_unix_socket"]

_RPC = listen.Listen(
    key="rpc.listen",
    error=RpcListenError,
    refuse_live=True,
    mode=0o600,
    in_use_hint=": another RoadRunner or greenrunner may be running; stop it or pick a free port",
)


def parse_listen(value: str) -> RelayAddress:
    """Parse ``rpc.listen``: the relay DSN rules (workers get it as ``RR_RPC``), no ``pipes``."""
    try:
        address = parse_relay_dsn(value)
    except RelayDSNError as exc:
        raise RpcListenError(f"rpc.listen: {exc}") from None
    if not address.is_socket:
        raise RpcListenError(
            f'rpc.listen: "{value}" is not a socket address; expected tcp://host:port or '
            "unix:///path/to.sock"
        )
    return address


def bind(address: RelayAddress) -> Bound:
    """Bind and listen on ``address``; :class:`RpcListenError` with the fix on failure."""
    return listen.bind(address, _RPC)
