"""The server's listening sockets (``tcp://host:port``, ``unix:///path``); errors say what to do.

One place for what the relay listener (:mod:`relays.server.socket`, key ``server.relay``) and
the RPC server (:mod:`actors.rpc.server`, key ``rpc.listen``) both need: a tcp port in use
named as such, a unix socket path that is a file or a directory refused, a stale socket file
from a crashed run replaced, the real port when 0 was asked, and on exit the socket file
removed only if it is still ours (another server may own the path by then).

The callers differ on purpose: RPC refuses a unix socket on which a server still answers
(``refuse_live``; workers and ``rr`` would keep talking to it) and creates the file with a
``mode`` of 0600 (whoever connects can reset pools and read the configuration), while the
relay replaces any socket file in its way, as RoadRunner does.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from dataclasses import dataclass

from gevent import socket

from relays.dsn import RelayAddress
from relays.errors import RelayListenError

__all__ = ["Bound", "Listen", "bind", "remove_unix_socket"]

# How long to wait for an existing unix socket to accept before calling it stale.
_PROBE_TIMEOUT = 1.0


@dataclass(frozen=True, slots=True)
class Bound:
    """A listening socket and what it is bound to (the real port when 0 was asked)."""

    sock: socket.socket
    address: RelayAddress
    #: ``(st_dev, st_ino)`` of the unix socket file, so only our own file is ever removed.
    inode: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class Listen:
    """How to bind, and how to word a failure, for one kind of listener."""

    #: The config key named in every error (``server.relay``, ``rpc.listen``).
    key: str
    #: The exception raised (an :class:`OSError` subclass with the message).
    error: type[OSError] = RelayListenError
    #: Refuse a unix socket path on which a server still accepts connections.
    refuse_live: bool = False
    #: File mode of a unix socket (``None``: the umask decides).
    mode: int | None = None
    #: What follows "address host:port is already in use (key)".
    in_use_hint: str = "; pick a free port"
    #: Connections the kernel queues before ``accept`` (a pool's workers connect at once).
    backlog: int = 128


def bind(address: RelayAddress, how: Listen) -> Bound:
    """Bind and listen on ``address``; ``how.error`` with the fix on failure."""
    bound = _bind_unix(address, how) if address.kind == "unix" else _bind_tcp(address, how)
    try:
        bound.sock.listen(how.backlog)
    except OSError as exc:
        bound.sock.close()
        remove_unix_socket(bound)
        raise how.error(f"cannot listen on {address.raw} ({how.key}): {exc}") from exc
    return bound


def _bind_tcp(address: RelayAddress, how: Listen) -> Bound:
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
            raise how.error(
                f"address {host}:{address.port} is already in use ({how.key}){how.in_use_hint}"
            ) from exc
        raise how.error(f"cannot listen on {address.raw} ({how.key}): {exc}") from exc
    port = sock.getsockname()[1]
    return Bound(sock, address.with_port(port) if port != address.port else address)


def _is_live(address: RelayAddress, how: Listen) -> bool:
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
        raise how.error(
            f"cannot listen on {address.raw} ({how.key}): cannot tell whether a server "
            f"still uses {address.path} ({exc}); remove the file yourself if it is stale"
        ) from exc
    finally:
        probe.close()
    return True


def _clear_path(address: RelayAddress, how: Listen) -> None:
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
        raise how.error(
            f"cannot listen on {address.raw} ({how.key}): {path} exists and is {what}; "
            "refusing to remove it. Delete it yourself or pick another path"
        )
    if how.refuse_live and _is_live(address, how):
        raise how.error(
            f"cannot listen on {address.raw} ({how.key}): a running server already "
            "accepts connections on this socket; stop it or pick another path"
        )
    # A socket file left behind by a run that did not shut down cleanly.
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _bind_unix(address: RelayAddress, how: Listen) -> Bound:
    """Bind the unix socket file (with ``how.mode``) and remember its inode for removal."""
    _clear_path(address, how)
    path = address.path
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if how.mode is not None:
            # Linux gives the new file the socket inode's mode: no window in which another
            # user could connect.  The chmod below covers other kernels.
            with contextlib.suppress(OSError):
                os.fchmod(sock.fileno(), how.mode)
        sock.bind(path)
        if how.mode is not None:
            os.chmod(path, how.mode)
        st = os.stat(path)
    except OSError as exc:
        sock.close()
        hint = ""
        if len(os.fsencode(path)) >= 104:
            hint = " (unix socket paths are limited to about 100 bytes; use a shorter one)"
        raise how.error(f"cannot listen on {address.raw} ({how.key}): {exc}{hint}") from exc
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
