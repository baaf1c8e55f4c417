"""Binding the RPC listener (``tcp://host:port``, ``unix:///path``); errors say what to do.

Unlike the worker relay's listener (:mod:`relays.server.socket`, which unlinks any socket
file in its way), this one first checks whether a server still answers on a unix socket
path: a stale file from a crashed run is replaced, a live server is never silently cut off
(workers and ``rr`` would keep talking to it).  The socket file is created with mode 0600:
whoever can connect can reset pools and read the whole configuration (``rpc.Config``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from dataclasses import dataclass

from gevent import socket

from actors.rpc.errors import RpcListenError
from relays.dsn import RelayAddress, parse_relay_dsn
from relays.errors import RelayDSNError

__all__ = ["Bound", "bind", "parse_listen", "remove_unix_socket"]

_BACKLOG = 128
# How long to wait for an existing unix socket to accept before calling it stale.
_PROBE_TIMEOUT = 1.0


@dataclass(frozen=True, slots=True)
class Bound:
    """A listening socket and what it is bound to (the real port when 0 was asked)."""

    sock: socket.socket
    address: RelayAddress
    #: ``(st_dev, st_ino)`` of the unix socket file, so only our own file is ever removed.
    inode: tuple[int, int] | None = None


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
    bound = _bind_unix(address) if address.kind == "unix" else _bind_tcp(address)
    try:
        bound.sock.listen(_BACKLOG)
    except OSError as exc:
        bound.sock.close()
        remove_unix_socket(bound)
        raise RpcListenError(f"cannot listen on {address.raw} (rpc.listen): {exc}") from exc
    return bound


def _bind_tcp(address: RelayAddress) -> Bound:
    """Bind a tcp socket; a port in use gets an error naming the likely cause."""
    family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # SO_REUSEADDR only skips TIME_WAIT; a second live server on the port still fails.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address.host, address.port))
    except OSError as exc:
        sock.close()
        host = f"[{address.host}]" if family == socket.AF_INET6 else address.host
        if exc.errno == errno.EADDRINUSE:
            raise RpcListenError(
                f"address {host}:{address.port} is already in use (rpc.listen): another "
                "RoadRunner or greenrunner may be running; stop it or pick a free port"
            ) from exc
        raise RpcListenError(f"cannot listen on {address.raw} (rpc.listen): {exc}") from exc
    port = sock.getsockname()[1]
    return Bound(sock, address.with_port(port) if port != address.port else address)


def _is_live(address: RelayAddress) -> bool:
    """True when something accepts connections on the unix socket at ``address.path``."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(_PROBE_TIMEOUT)
    try:
        probe.connect(address.path)
    except (ConnectionRefusedError, FileNotFoundError):
        return False
    except OSError as exc:
        # A full backlog (EAGAIN) or a slow accept: a server is there.
        if isinstance(exc, TimeoutError) or exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
            return True
        raise RpcListenError(
            f"cannot listen on {address.raw} (rpc.listen): cannot tell whether a server "
            f"still uses {address.path} ({exc}); remove the file yourself if it is stale"
        ) from exc
    finally:
        probe.close()
    return True


def _clear_path(address: RelayAddress) -> None:
    """Make room for the socket file: remove a stale socket, refuse anything else."""
    path = address.path
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        what = {stat.S_IFDIR: "a directory", stat.S_IFREG: "a regular file"}.get(
            stat.S_IFMT(st.st_mode), "not a socket"
        )
        raise RpcListenError(
            f"cannot listen on {address.raw} (rpc.listen): {path} exists and is {what}; "
            "refusing to remove it. Delete it yourself or pick another path"
        )
    if _is_live(address):
        raise RpcListenError(
            f"cannot listen on {address.raw} (rpc.listen): a running server already "
            "accepts connections on this socket; stop it or pick another path"
        )
    # A socket file left behind by a run that did not shut down cleanly.
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _bind_unix(address: RelayAddress) -> Bound:
    """Bind the unix socket file with mode 0600 and remember its inode for removal."""
    _clear_path(address)
    path = address.path
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        # Linux gives the new file the socket inode's mode: 0600 from the start, no window
        # in which another user could connect.  The chmod below covers other kernels.
        with contextlib.suppress(OSError):
            os.fchmod(sock.fileno(), 0o600)
        sock.bind(path)
        os.chmod(path, 0o600)
        st = os.stat(path)
    except OSError as exc:
        sock.close()
        hint = ""
        if len(os.fsencode(path)) >= 104:
            hint = " (unix socket paths are limited to about 100 bytes; use a shorter one)"
        raise RpcListenError(f"cannot listen on {address.raw} (rpc.listen): {exc}{hint}") from exc
    return Bound(sock, address, (st.st_dev, st.st_ino))


def remove_unix_socket(bound: Bound) -> None:
    """Remove the socket file if it is still ours (another server may own the path now)."""
    if bound.inode is None:
        return
    try:
        st = os.lstat(bound.address.path)
    except OSError:
        return
    if stat.S_ISSOCK(st.st_mode) and (st.st_dev, st.st_ino) == bound.inode:
        with contextlib.suppress(OSError):
            os.unlink(bound.address.path)
