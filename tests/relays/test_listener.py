"""The socket relay listener: binding, the accept loop, matching workers by pid."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import gevent
import pytest

from relays.dsn import parse_relay_dsn
from relays.errors import RelayListenError, RelayTimeoutError
from relays.frame import CONTROL, FrameReader, encode_frame
from relays.server.socket import SocketListener
from tests.support.hub import call, spawn_call, wait_for
from tests.support.relay_harness import RelayHarness, exec_frame
from tests.support.workers import inline_cmd, worker_cmd

pytestmark = pytest.mark.timeout(60)


def test_tcp_port_zero_reports_the_real_port() -> None:
    with SocketListener(parse_relay_dsn("tcp://127.0.0.1:0")) as listener:
        port = listener.address.port
        assert port > 0
        assert listener.env_value == f"tcp://127.0.0.1:{port}"
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass


def test_tcp_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        listener = SocketListener(parse_relay_dsn(f"tcp://127.0.0.1:{port}"))
        with pytest.raises(RelayListenError) as info:
            listener.start()
        assert str(info.value) == (
            f"address 127.0.0.1:{port} is already in use (server.relay); pick a free port"
        )
        assert isinstance(info.value, OSError)
        listener.close()


def test_stale_unix_socket_is_removed(short_tmp: Path) -> None:
    path = short_tmp / "rr.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # the file stays behind, as after a crash
    assert path.is_socket()
    harness = RelayHarness("unix", short_tmp, SocketListener(parse_relay_dsn(f"unix://{path}")))
    harness.listener.start()
    try:
        relay = harness.spawn("echo").relay
        assert relay is not None
        assert exec_frame(relay, b"c", b"b").split() == (b"c", b"b")
    finally:
        harness.close()
    assert not path.exists(), "close() must remove the socket file"


@pytest.mark.parametrize("kind", ["file", "dir"])
def test_unix_path_that_is_not_a_socket_is_kept(short_tmp: Path, kind: str) -> None:
    path = short_tmp / "rr.sock"
    if kind == "file":
        path.write_text("precious")
    else:
        path.mkdir()
    listener = SocketListener(parse_relay_dsn(f"unix://{path}"))
    with pytest.raises(RelayListenError) as info:
        listener.start()
    message = str(info.value)
    assert str(path) in message
    assert "refusing to remove it" in message
    assert ("a regular file" if kind == "file" else "a directory") in message
    listener.close()
    assert path.exists()
    if kind == "file":
        assert path.read_text() == "precious"


def test_relative_unix_path(short_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(short_tmp)
    with SocketListener(parse_relay_dsn("unix://rel.sock")):
        assert (short_tmp / "rel.sock").is_socket()
    assert not (short_tmp / "rel.sock").exists()


def test_worker_that_never_connects_times_out(sockets_relay_harness: RelayHarness) -> None:
    worker = sockets_relay_harness.launch(inline_cmd("import time; time.sleep(30)"))
    started = time.monotonic()
    with pytest.raises(RelayTimeoutError, match="did not connect to"):
        sockets_relay_harness.listener.wait_for(worker.proc.pid, 0.5, worker.alive)
    assert 0.4 < time.monotonic() - started < 2


def test_worker_that_exits_fails_early(sockets_relay_harness: RelayHarness) -> None:
    worker = sockets_relay_harness.launch(inline_cmd("raise SystemExit(3)"))
    started = time.monotonic()
    with pytest.raises(RelayTimeoutError, match="exited before connecting"):
        sockets_relay_harness.listener.wait_for(worker.proc.pid, 20, worker.alive)
    assert time.monotonic() - started < 5


def _connect(listener: SocketListener) -> socket.socket:
    address = listener.address
    if address.kind == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(address.path)
        return sock
    return socket.create_connection((address.host, address.port), timeout=5)


def test_bad_handshakes_do_not_stop_the_accept_loop(sockets_relay_harness: RelayHarness) -> None:
    listener = sockets_relay_harness.listener
    listener.handshake_timeout = 0.3
    junk = _connect(listener)
    hangup = _connect(listener)
    silent = _connect(listener)
    try:
        junk.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        hangup.close()
        not_control = encode_frame(b'{"pid":1}')  # a pid answer without the CONTROL flag
        bad_pid = _connect(listener)
        bad_pid.sendall(not_control)
        gevent.sleep(0.5)  # the silent one times out meanwhile
        relay = sockets_relay_harness.spawn("echo").relay
        assert relay is not None
        assert exec_frame(relay, b"", b"still accepting").split()[1] == b"still accepting"
        bad_pid.close()
    finally:
        junk.close()
        silent.close()


def test_worker_connecting_before_wait_for(sockets_relay_harness: RelayHarness) -> None:
    worker = sockets_relay_harness.launch(worker_cmd("echo"))
    gevent.sleep(1.0)  # connected and handshaken before anybody waits for it
    relay = sockets_relay_harness.connect(worker, timeout=5)
    assert relay.pid == worker.proc.pid
    assert exec_frame(relay, b"", b"x").split() == (b"", b"x")


def test_close_drops_unclaimed_connections(sockets_relay_harness: RelayHarness) -> None:
    worker = sockets_relay_harness.launch(worker_cmd("echo"))
    listener = sockets_relay_harness.listener
    # Connected and handshaken (its slot holds the relay), never claimed.
    pid = worker.proc.pid
    wait_for(lambda: pid in listener._slots and listener._slots[pid].ready())
    sockets_relay_harness.listener.close()
    # The worker sees EOF on its relay and exits cleanly.
    assert worker.wait(timeout=10) == 0
    if sockets_relay_harness.kind == "unix":
        assert not os.path.exists(sockets_relay_harness.listener.address.path)


def test_a_client_announcing_a_huge_frame_is_refused_before_the_handshake() -> None:
    """A stray client of the relay port cannot make the server buffer gigabytes."""
    import socket as pysocket
    import struct
    import zlib

    def stray_client(addr: tuple[str, int]) -> bytes:
        with pysocket.create_connection(addr, timeout=5) as s:
            assert s.recv(64)  # the pid request
            head6 = struct.pack("<BBI", 0x13, 0x01, 3 << 30)  # CONTROL, 3 GiB payload
            s.sendall(head6 + struct.pack("<I", zlib.crc32(head6)) + b"\0\0")
            return s.recv(1)  # b"" once the server drops the connection

    with SocketListener(parse_relay_dsn("tcp://127.0.0.1:0")) as listener:
        # A real thread: this blocking client must not block the hub serving it.
        got = call(stray_client, listener.address.address)
    assert got == b""


def _fake_worker(address: tuple[str, int], pid: int) -> socket.socket:
    """Connect to the listener and answer its handshake claiming ``pid``."""
    sock = socket.create_connection(address)
    reader = FrameReader(sock.recv)
    reader.read_frame()  # the pid request
    sock.sendall(encode_frame(json.dumps({"pid": pid}).encode(), CONTROL))
    return sock


def test_abandoned_pid_is_forgotten_once_no_late_connection_can_come() -> None:
    """A pid whose spawn timed out is dropped if it connects late; but pids are reused, so a
    new worker with the same pid, much later, must not be dropped too."""
    listener = SocketListener(parse_relay_dsn("tcp://127.0.0.1:0"), handshake_timeout=0.2)
    listener.start()
    try:
        pid = 4_000_000  # above any pid_max: no real worker can claim it
        with pytest.raises(TimeoutError):
            listener.wait_for(pid, 0.05)
        gevent.sleep(0.6)  # longer than a handshake may take: the late worker is gone for good
        address = (listener.address.host, listener.address.port)
        sock = spawn_call(_fake_worker, address, pid)
        started = time.monotonic()
        relay = listener.wait_for(pid, 5)
        assert time.monotonic() - started < 4
        assert relay.pid == pid
        sock.get().close()
    finally:
        listener.close()


def test_late_connection_of_a_timed_out_spawn_is_dropped() -> None:
    listener = SocketListener(parse_relay_dsn("tcp://127.0.0.1:0"), handshake_timeout=5)
    listener.start()
    try:
        pid = 4_000_001
        with pytest.raises(TimeoutError):
            listener.wait_for(pid, 0.05)
        address = (listener.address.host, listener.address.port)

        def late() -> bytes:
            with _fake_worker(address, pid) as sock:
                sock.settimeout(5)
                return sock.recv(1)

        assert call(late) == b"", "the late connection was kept"
        assert pid not in listener._slots
    finally:
        listener.close()


def test_connection_nobody_claims_is_closed() -> None:
    """A process behind a forking wrapper (``sh -c``) connects with a pid nobody waits for; the
    spawn times out and is retried.  Those connections must not stay open forever: one
    descriptor leaked per retry of a misconfigured pool."""
    listener = SocketListener(parse_relay_dsn("tcp://127.0.0.1:0"))
    listener.unclaimed_timeout = 0.3
    listener.start()
    try:
        pid = 4_000_002
        address = (listener.address.host, listener.address.port)

        def stray() -> bytes:
            with _fake_worker(address, pid) as sock:
                sock.settimeout(5)
                return sock.recv(1)

        started = time.monotonic()
        assert call(stray) == b""
        assert time.monotonic() - started < 4
        assert pid not in listener._slots
    finally:
        listener.close()


def test_connection_claimed_late_but_in_time_is_kept() -> None:
    listener = SocketListener(parse_relay_dsn("tcp://127.0.0.1:0"))
    listener.unclaimed_timeout = 1.0
    listener.start()
    try:
        pid = 4_000_003
        address = (listener.address.host, listener.address.port)
        sock = call(_fake_worker, address, pid)
        gevent.sleep(0.3)
        relay = listener.wait_for(pid, 2)
        gevent.sleep(1.0)  # past unclaimed_timeout: a claimed relay stays open
        assert not relay.closed
        relay.close()
        sock.close()
    finally:
        listener.close()
