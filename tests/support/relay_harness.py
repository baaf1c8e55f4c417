"""Real worker processes on a bare relay, spawned the way the server does (no pool, no actors).

``relay_harness`` and its pipes-only / sockets-only variants (tests/conftest.py) hand out a
:class:`RelayHarness`; the helpers below read and write frames on the relays it returns.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import gevent
import gevent.subprocess

from relays.control import PONG_FRAME
from relays.dsn import RelayAddress, parse_relay_dsn
from relays.frame import Frame, encode_data_frame
from relays.server.base import Relay
from relays.server.handshake import handshake
from relays.server.pipe import PipeRelay
from relays.server.socket import SocketListener
from tests.support.workers import worker_cmd


@dataclass
class Spawned:
    proc: gevent.subprocess.Popen
    stderr_path: Path
    relay: Relay | None = None

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float = 10) -> int:
        return self.proc.wait(timeout=timeout)


@dataclass
class RelayHarness:
    """Spawns workers the way the server does, for one relay kind."""

    kind: str
    tmp: Path
    listener: SocketListener | None = None
    spawned: list[Spawned] = field(default_factory=list)

    def start(self) -> None:
        if self.kind == "tcp":
            self.listener = SocketListener(parse_relay_dsn("tcp://127.0.0.1:0"))
        elif self.kind == "unix":
            self.listener = SocketListener(parse_relay_dsn(f"unix://{self.tmp}/rr.sock"))
        if self.listener is not None:
            self.listener.start()

    @property
    def address(self) -> RelayAddress:
        if self.listener is not None:
            return self.listener.address
        return parse_relay_dsn("pipes")

    def launch(self, argv: list[str], env: dict[str, str] | None = None) -> Spawned:
        """Start a process with the relay plumbing, without the handshake."""
        full_env = {**os.environ, "RR_RELAY": self.address.env_value, **(env or {})}
        stderr_path = self.tmp / f"stderr-{len(self.spawned)}.txt"
        with open(stderr_path, "wb") as err:
            if self.kind != "pipes":
                proc = gevent.subprocess.Popen(
                    argv,
                    stdin=gevent.subprocess.DEVNULL,
                    stdout=gevent.subprocess.DEVNULL,
                    stderr=err,
                    env=full_env,
                )
                spawned = Spawned(proc, stderr_path)
                self.spawned.append(spawned)
                return spawned
            to_worker_r, to_worker_w = os.pipe()
            from_worker_r, from_worker_w = os.pipe()
            try:
                proc = gevent.subprocess.Popen(
                    argv, stdin=to_worker_r, stdout=from_worker_w, stderr=err, env=full_env
                )
            finally:
                os.close(to_worker_r)
                os.close(from_worker_w)
            try:
                relay = PipeRelay(from_worker_r, to_worker_w, proc.pid, " ".join(argv))
            finally:
                os.close(from_worker_r)
                os.close(to_worker_w)
        spawned = Spawned(proc, stderr_path, relay)
        self.spawned.append(spawned)
        return spawned

    def connect(self, spawned: Spawned, timeout: float = 10) -> Relay:
        """The handshake (pipes) or the wait for the connection (sockets)."""
        if self.kind == "pipes":
            assert spawned.relay is not None
            assert handshake(spawned.relay, timeout) > 0
            return spawned.relay
        assert self.listener is not None
        spawned.relay = self.listener.wait_for(spawned.proc.pid, timeout, spawned.alive)
        return spawned.relay

    def spawn(self, name: str, env: dict[str, str] | None = None) -> Spawned:
        spawned = self.launch(worker_cmd(name), env)
        self.connect(spawned)
        return spawned

    def close(self) -> None:
        for spawned in self.spawned:
            if spawned.alive():
                spawned.proc.kill()
            with contextlib.suppress(Exception):
                spawned.proc.wait(timeout=5)
            if spawned.relay is not None:
                spawned.relay.close()
        if self.listener is not None:
            self.listener.close()


def exec_frame(relay: Relay, context: bytes, body: bytes, flags: int = 0) -> Frame:
    relay.send(encode_data_frame(context, body, flags))
    return relay.receive()


def read_stream(relay: Relay, on_frame: Callable[[int, Frame], None] | None = None) -> list[Frame]:
    """Read one streamed response the way the pool does: PONG every PING, stop at EOS."""
    frames: list[Frame] = []
    while True:
        frame = relay.receive()
        if frame.is_ping:
            relay.send(PONG_FRAME)
        frames.append(frame)
        if on_frame is not None:
            on_frame(len(frames) - 1, frame)
        if not frame.is_stream:
            return frames


@contextlib.contextmanager
def ticking() -> Iterator[list[int]]:
    """Count hub ticks while the block runs: proof that the hub was never blocked."""
    ticks = [0]

    def tick() -> None:
        while True:
            gevent.sleep(0.005)
            ticks[0] += 1

    glet = gevent.spawn(tick)
    try:
        yield ticks
    finally:
        glet.kill()
