"""Reach a running server's RPC port from the operator's shell, as ``rr`` does.

The address comes from the same config file the server reads (``rpc.listen``), with
the same ``-o`` overrides; failures become one sentence that says what to do, because
the usual cause is simply that no server is running with that config.
"""

from __future__ import annotations

from collections.abc import Sequence

from actors.config import ConfigError, load_config
from relays.rpc import RPC, RPCError

__all__ = ["CommandError", "connect", "rpc_address"]


class CommandError(Exception):
    """A command cannot run; the message is printed as ``greenrunner: <message>``."""


def rpc_address(path: str, overrides: Sequence[str]) -> str:
    """``rpc.listen`` of the config at ``path``; a clear error when it has no ``rpc`` section."""
    try:
        config = load_config(path, list(overrides))
    except ConfigError as exc:
        raise CommandError(f"config error: {exc}") from None
    if config.rpc is None:
        raise CommandError(
            f"{path} has no rpc section, so the server has no RPC port to ask: add "
            "`rpc: {listen: tcp://127.0.0.1:6001}` to it and restart the server"
        )
    return config.rpc.listen


def connect(address: str, path: str, timeout: float = 60.0) -> RPC:
    """An RPC client on ``address``; :class:`CommandError` when nothing listens there."""
    try:
        return RPC.create(address, timeout=timeout)
    except (RPCError, OSError) as exc:
        raise CommandError(
            f"no Greenrunner is listening on {address} (rpc.listen in {path}): {exc}; "
            f"start it with `greenrunner serve -c {path}`"
        ) from None
