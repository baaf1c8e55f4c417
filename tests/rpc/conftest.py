"""The RPC server on the test's gevent hub, and blocking clients run in the hub's threadpool.

The server's greenlets keep serving while the test greenlet waits for a client thread
(``in_thread``), so both ends are real sockets and nothing is mocked.
"""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gevent
import gevent.event
import pytest

from actors.rpc import RpcServer, ServiceError, ServiceRegistry
from relays.dsn import parse_relay_dsn
from relays.frame import Frame, FrameReader, encode_frame

#: Client sockets give up after this long: a hung server fails the test instead of hanging it.
TIMEOUT = 10.0


def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """Run blocking ``fn(*args)`` in a real thread; the hub keeps serving meanwhile."""
    return gevent.get_hub().threadpool.apply(fn, args)


class Demo:
    """A service exercising every reply shape and failure."""

    def __init__(self) -> None:
        self.fast_done = gevent.event.Event()

    def Echo(self, arg: Any) -> Any:
        return arg

    def add_worker(self, plugin: Any) -> bool:  # reached as Demo.AddWorker
        return plugin == "http"

    def Bytes(self, arg: Any) -> bytes:
        return b"\x00raw\xff" if arg is None else bytes(arg)

    def Slow(self, arg: Any) -> str:
        # Deterministic out-of-order replies: finish only after Fast has answered.
        self.fast_done.wait(TIMEOUT)
        gevent.sleep(0.05)
        return "slow"

    def Fast(self, arg: Any) -> str:
        self.fast_done.set()
        return "fast"

    def Fail(self, arg: Any) -> None:
        raise ServiceError(f"no such plugin: {arg}")

    def Boom(self, arg: Any) -> None:
        raise RuntimeError("kaboom")

    def LeakTimeout(self, arg: Any) -> None:
        raise gevent.Timeout(0.1, "timed out upstream")

    def Dict(self, arg: Any) -> dict[str, Any]:
        return {"workers": [{"pid": 1, "statusStr": "ready"}], "arg": arg}

    def Sleep(self, arg: Any) -> str:
        gevent.sleep(float(arg))
        return "slept"

    def _private(self, arg: Any) -> str:
        return "never"


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short directory: AF_UNIX paths are limited to ~108 bytes, pytest's tmp_path may not be."""
    with tempfile.TemporaryDirectory(prefix="gr-rpc-") as path:
        yield Path(path)


@pytest.fixture
def registry() -> ServiceRegistry:
    reg = ServiceRegistry()
    reg.register("Demo", Demo())
    return reg


@pytest.fixture(params=["tcp", "unix"])
def server(
    request: pytest.FixtureRequest, registry: ServiceRegistry, short_tmp: Path
) -> Iterator[RpcServer]:
    """A started server on tcp (port 0) or on a unix socket."""
    dsn = "tcp://127.0.0.1:0" if request.param == "tcp" else f"unix://{short_tmp}/rpc.sock"
    srv = RpcServer(dsn, registry)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def connect(address: str) -> socket.socket:
    """A blocking client socket to a server DSN (call it from a thread)."""
    parsed = parse_relay_dsn(address)
    if parsed.kind == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(TIMEOUT)
        sock.connect(parsed.path)
        return sock
    return socket.create_connection((parsed.host, parsed.port), timeout=TIMEOUT)


def request(seq: int, method: str, body: bytes, flags: int) -> bytes:
    """A request frame exactly as PHP's RPC and the Go client build it."""
    name = method.encode()
    return encode_frame(name + body, flags, 0, (seq, len(name)))


def exchange(address: str, frames: list[bytes], replies: int) -> list[Frame]:
    """Send ``frames`` in one write, read ``replies`` frames back (in a thread)."""
    with connect(address) as sock:
        sock.sendall(b"".join(frames))
        reader = FrameReader(sock.recv)
        return [reader.read_frame() for _ in range(replies)]


def reply_body(frame: Frame) -> bytes:
    """The reply's bytes after the echoed method name."""
    return frame.payload[frame.options[1] :]
