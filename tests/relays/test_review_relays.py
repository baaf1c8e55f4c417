"""Review findings on the server side of the relays (handshake.py, socket.py)."""

from __future__ import annotations

import gc
import json
import os
import socket
import sys
import time
from pathlib import Path

import gevent
import pytest

from relays.dsn import parse_relay_dsn
from relays.errors import ProtocolError
from relays.frame import CONTROL, FrameReader, encode_frame
from relays.server.handshake import handshake
from relays.server.pipe import PipeRelay
from relays.server.socket import SocketListener

WORKERS = Path(__file__).resolve().parents[1] / "workers"


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_failed_handshake_closes_the_relay() -> None:
    """Whoever calls handshake() gets the error, not a relay to clean up: a pipes relay holds
    duplicated descriptors, and a pool that keeps failing to spawn must not leak them."""
    to_worker_r, to_worker_w = os.pipe()
    from_worker_r, from_worker_w = os.pipe()
    relay = PipeRelay(from_worker_r, to_worker_w, pid=1, command="junk")
    relay.drain_timeout = relay.drain_quiet = 0.05
    os.write(from_worker_w, b"this is not a goridge frame at all\n")
    try:
        with pytest.raises(ProtocolError):
            handshake(relay, timeout=2)
        assert relay.closed
    finally:
        relay.close()
        for fd in (to_worker_r, to_worker_w, from_worker_r, from_worker_w):
            os.close(fd)


def test_failed_pipes_spawns_leak_no_descriptors() -> None:
    from actors.system import ActorSystem, StartupError

    def attempt() -> None:
        system = ActorSystem.from_dict(
            {
                "server": {"command": [sys.executable, str(WORKERS / "junk_stdout.py")]},
                "http": {"address": "127.0.0.1:0", "pool": {"num_workers": 2}},
                "logs": {"level": "error", "mode": "off"},
            }
        )
        with pytest.raises(StartupError):
            system.start()

    attempt()  # warm up: imports, the hub's own descriptors, logging
    gc.collect()
    before = _open_fds()
    for _ in range(3):
        attempt()
    gc.collect()
    assert _open_fds() - before < 4, "descriptors leaked by failed spawns"


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
        pool = gevent.get_hub().threadpool
        sock = pool.spawn(_fake_worker, address, pid)
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

        assert gevent.get_hub().threadpool.apply(late) == b"", "the late connection was kept"
        assert pid not in listener._slots
    finally:
        listener.close()


def test_pipe_relay_that_cannot_dup_leaks_nothing() -> None:
    """Under fd pressure (EMFILE), when the second dup() fails the first one is closed again."""
    import subprocess

    code = """
import os, resource
import gevent
from relays.server.pipe import PipeRelay
gevent.get_hub()  # libev's own descriptors first
r, w = os.pipe()
before = len(os.listdir('/proc/self/fd'))
probe = os.dup(0)  # the lowest free descriptor
os.close(probe)
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (probe + 1, hard))  # room for one dup() only
try:
    PipeRelay(r, w, pid=1)
except OSError as exc:
    print('failed', exc.errno)
resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
print('leaked', len(os.listdir('/proc/self/fd')) - before)
"""
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=30
    )
    assert "failed 24" in out.stdout, out.stdout + out.stderr
    assert "leaked 0" in out.stdout, out.stdout + out.stderr


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
        assert gevent.get_hub().threadpool.apply(stray) == b""
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
        sock = gevent.get_hub().threadpool.apply(_fake_worker, (address, pid))
        gevent.sleep(0.3)
        relay = listener.wait_for(pid, 2)
        gevent.sleep(1.0)  # past unclaimed_timeout: a claimed relay stays open
        assert not relay.closed
        relay.close()
        sock.close()
    finally:
        listener.close()
