"""Binding: unix socket mode and lifecycle, stale and live sockets, ports in use, bad DSNs."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from actors.rpc import RpcListenError, RpcServer, ServiceRegistry
from relays.frame import CODEC_JSON

from .conftest import exchange, in_thread, reply_body, request

pytestmark = pytest.mark.timeout(60)


def _echo_ok(server: RpcServer) -> bytes:
    (frame,) = in_thread(
        exchange, server.address, [request(1, "Demo.Echo", b'"ok"', CODEC_JSON)], 1
    )
    return reply_body(frame)


def test_unix_socket_is_0600_and_removed_on_stop(
    registry: ServiceRegistry, short_tmp: Path
) -> None:
    path = short_tmp / "rpc.sock"
    old = os.umask(0)  # even with a permissive umask
    try:
        server = RpcServer(f"unix://{path}", registry)
        server.start()
    finally:
        os.umask(old)
    try:
        mode = os.stat(path).st_mode
        assert stat.S_ISSOCK(mode)
        assert stat.S_IMODE(mode) == 0o600
        assert server.address == f"unix://{path}"
        assert _echo_ok(server) == b'"ok"'
    finally:
        server.stop()
    assert not path.exists()


def test_stale_unix_socket_is_replaced(registry: ServiceRegistry, short_tmp: Path) -> None:
    path = short_tmp / "rpc.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # the file stays behind, as after a crash
    assert path.is_socket()
    with RpcServer(f"unix://{path}", registry) as server:
        assert _echo_ok(server) == b'"ok"'
    assert not path.exists()


def test_live_unix_socket_is_refused_and_left_alone(
    registry: ServiceRegistry, short_tmp: Path
) -> None:
    path = short_tmp / "rpc.sock"
    with RpcServer(f"unix://{path}", registry) as first:
        second = RpcServer(f"unix://{path}", registry)
        with pytest.raises(RpcListenError) as info:
            second.start()
        assert str(info.value) == (
            f"cannot listen on unix://{path} (rpc.listen): a running server already accepts "
            "connections on this socket; stop it or pick another path"
        )
        second.stop()  # a server that never started stops quietly, removing nothing
        assert _echo_ok(first) == b'"ok"'
    assert not path.exists()


def test_a_file_in_the_way_is_not_removed(registry: ServiceRegistry, short_tmp: Path) -> None:
    path = short_tmp / "rpc.sock"
    path.write_text("precious")
    with pytest.raises(RpcListenError, match="is a regular file; refusing to remove it"):
        RpcServer(f"unix://{path}", registry).start()
    assert path.read_text() == "precious"


def test_port_in_use_is_a_clear_error(registry: ServiceRegistry) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        server = RpcServer(f"tcp://127.0.0.1:{port}", registry)
        with pytest.raises(RpcListenError) as info:
            server.start()
        assert str(info.value) == (
            f"address 127.0.0.1:{port} is already in use (rpc.listen): another RoadRunner or "
            "greenrunner may be running; stop it or pick a free port"
        )
        assert isinstance(info.value, OSError)


def test_tcp_port_is_freed_on_stop(registry: ServiceRegistry) -> None:
    with RpcServer("tcp://127.0.0.1:0", registry) as server:
        address = server.address
    with RpcServer(address, registry) as again:
        assert again.address == address
        assert _echo_ok(again) == b'"ok"'


@pytest.mark.parametrize(
    ("dsn", "reason"),
    [
        ("pipes", "not a socket address"),
        ("127.0.0.1:6001", "invalid relay"),
        ("tcp://127.0.0.1", "the port is missing"),
        ("http://127.0.0.1:6001", "invalid relay"),
    ],
)
def test_bad_listen_values(registry: ServiceRegistry, dsn: str, reason: str) -> None:
    with pytest.raises(RpcListenError, match=f"^rpc.listen: .*{reason}"):
        RpcServer(dsn, registry)


def test_a_stopped_server_cannot_restart(registry: ServiceRegistry) -> None:
    server = RpcServer("tcp://127.0.0.1:0", registry)
    server.start()
    server.stop()
    with pytest.raises(RuntimeError, match="create a new one"):
        server.start()


def test_stop_removes_only_its_own_socket_file(registry: ServiceRegistry, short_tmp: Path) -> None:
    path = short_tmp / "rpc.sock"
    first = RpcServer(f"unix://{path}", registry)
    first.start()
    path.unlink()  # someone removed it; a new server took the path
    with RpcServer(f"unix://{path}", registry) as second:
        first.stop()
        assert path.is_socket()
        assert _echo_ok(second) == b'"ok"'
    assert not path.exists()
