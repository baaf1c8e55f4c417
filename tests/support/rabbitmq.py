"""A real RabbitMQ for tests: Debian's ``rabbitmq-server`` started directly, private to the
test session.

Everything the node touches is in one temp dir (mnesia, logs, config, ``HOME`` for the
Erlang cookie) and every port is free-picked: AMQP, the Erlang distribution port and the
port of a private ``epmd`` that the harness starts itself (so no machine-wide epmd is
shared or left behind).  The node name is unique per harness, so pytest-xdist workers each
run their own broker.  :meth:`RabbitMQ.stop` then :meth:`RabbitMQ.start` brings the same
node back on the same ports and data (durable queues and persistent messages survive).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

__all__ = ["RABBITMQ_SERVER", "RabbitMQ", "missing_reason"]

#: The server script of Debian's package (the /usr/sbin wrapper switches user; this does not).
RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
EPMD = shutil.which("epmd") or "/usr/bin/epmd"
#: The AMQP 0-9-1 protocol header a client opens with.
PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"


#: Runs beside each broker run: when its stdin closes (the test process ended, however it
#: ended, even by SIGKILL), it kills the broker's process group and its epmd, so no broker
#: outlives the tests.
WATCHDOG = """
import os, signal, sys
sys.stdin.buffer.read()
for kill, target in ((os.killpg, int(sys.argv[1])), (os.kill, int(sys.argv[2]))):
    try:
        kill(target, signal.SIGKILL)
    except OSError:
        pass
"""


def missing_reason() -> str | None:
    """Why a broker cannot be started here, or ``None`` when it can."""
    if not os.path.exists(RABBITMQ_SERVER):
        return (
            f"RabbitMQ is not installed ({RABBITMQ_SERVER} missing): "
            "apt-get install rabbitmq-server (.ci/run does)"
        )
    if not os.path.exists(EPMD):
        return "epmd (Erlang) is not installed: apt-get install rabbitmq-server"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RabbitMQ:
    """One private broker node.  ``url`` is its AMQP address (guest/guest, vhost ``/``)."""

    def __init__(self, base: Path | None = None) -> None:
        self.base = Path(base or tempfile.mkdtemp(prefix="gr-rmq-"))
        self.name = f"gr{uuid.uuid4().hex[:10]}@localhost"
        self.port = _free_port()
        self.dist_port = _free_port()
        self.epmd_port = _free_port()
        for sub in ("home", "mnesia", "log"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        (self.base / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            "loopback_users = none\n"
            # keep the test broker small and quiet on a shared machine
            "vm_memory_high_watermark.absolute = 1GB\n"
            "disk_free_limit.absolute = 50MB\n"
        )
        (self.base / "enabled_plugins").write_text("[].\n")
        self._epmd: subprocess.Popen[bytes] | None = None
        self._server: subprocess.Popen[bytes] | None = None
        self._watchdog: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @property
    def running(self) -> bool:
        return self._server is not None and self._server.poll() is None

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            HOME=str(self.base / "home"),
            RABBITMQ_NODENAME=self.name,
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            ERL_EPMD_PORT=str(self.epmd_port),
            ERL_EPMD_ADDRESS="127.0.0.1",
            RABBITMQ_MNESIA_BASE=str(self.base / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.base / "log"),
            RABBITMQ_CONFIG_FILE=str(self.base / "rabbitmq.conf"),
            RABBITMQ_ADVANCED_CONFIG_FILE=str(self.base / "advanced.config"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.base / "enabled_plugins"),
            RABBITMQ_CONF_ENV_FILE=str(self.base / "rabbitmq-env.conf"),
            RABBITMQ_PID_FILE=str(self.base / "rabbitmq.pid"),
            RABBITMQ_LOGS=str(self.base / "log" / "rabbit.log"),
        )
        return env

    def start(self, timeout: float = 60.0) -> None:
        """Start epmd and the node; return when it answers the AMQP handshake."""
        if self.running:
            return
        env = self._env()
        if self._epmd is None or self._epmd.poll() is not None:
            self._epmd = subprocess.Popen(
                [EPMD, "-port", str(self.epmd_port), "-address", "127.0.0.1"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        out = open(self.base / "server.out", "ab")  # noqa: SIM115 (the child keeps it)
        try:
            self._server = subprocess.Popen(
                [RABBITMQ_SERVER],
                env=env,
                cwd=self.base,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            out.close()
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", WATCHDOG, str(self._server.pid), str(self._epmd.pid)],
            stdin=subprocess.PIPE,
            start_new_session=True,
        )
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"rabbitmq-server exited early:\n{self.log_tail()}")
            if self._handshake():
                return
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(
            f"rabbitmq-server gave no AMQP handshake in {timeout}s:\n{self.log_tail()}"
        )

    def _handshake(self) -> bool:
        """True when the node answers the protocol header with a Connection.Start frame."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as sock:
                sock.sendall(PROTOCOL_HEADER)
                head = sock.recv(7)
                return len(head) == 7 and head[0] == 1  # frame type 1: a method frame
        except OSError:
            return False

    def log_tail(self, lines: int = 30) -> str:
        text = ""
        for name in ("server.out", "log/rabbit.log"):
            path = self.base / name
            if path.exists():
                text += f"--- {path}\n" + "\n".join(
                    path.read_text(errors="replace").splitlines()[-lines:]
                )
        return text

    def stop(self, timeout: float = 30.0) -> None:
        """Graceful stop (SIGTERM to the node's process group), SIGKILL if it lingers."""
        server = self._server
        if server is None or server.poll() is not None:
            return
        try:
            os.killpg(server.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            server.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self._wait_port_closed()
        self._release_watchdog()

    def kill(self) -> None:
        """The node dies at once (SIGKILL to its process group)."""
        server = self._server
        if server is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)
        self._wait_port_closed()
        self._release_watchdog()

    def _release_watchdog(self) -> None:
        """The node is down: let the watchdog finish (it takes epmd with it; the next
        :meth:`start` starts epmd again on the same port)."""
        dog, self._watchdog = self._watchdog, None
        if dog is not None and dog.stdin is not None:
            dog.stdin.close()
            dog.wait(10)
            if self._epmd is not None:
                self._epmd.wait(10)

    def _wait_port_closed(self) -> None:
        # beam's children (erl_child_setup) go with it; wait until the port is free again.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            except OSError:
                return
            time.sleep(0.1)

    def close(self) -> None:
        """Stop the node and its epmd, and remove the data dir."""
        try:
            self.stop(timeout=15)
        finally:
            self._release_watchdog()
            if self._epmd is not None:
                if self._epmd.poll() is None:
                    self._epmd.kill()
                self._epmd.wait(5)
            shutil.rmtree(self.base, ignore_errors=True)
