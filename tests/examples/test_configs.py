"""The example configs serve the hello app: tcp and unix relays, and the default config.

Every run overrides the http address (and the relay) so tests can run in parallel,
then stops the server with SIGTERM like a process manager and expects exit 0 with
every worker gone.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.examples._serve import Server, serve, wait_gone
from tests.support.procs import free_port

HELLO = b"Hello from Greenrunner"


@pytest.fixture
def short_dir() -> Iterator[str]:
    """A short directory for unix sockets (pytest's tmp_path can exceed the ~108 byte limit)."""
    path = tempfile.mkdtemp(prefix="gr-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def check_hello_then_stop(server: Server) -> None:
    status, headers, body = server.get("/")
    assert (status, body) == (200, HELLO), server.output()
    assert headers["Content-Type"] == "text/plain"
    status, _, body = server.get("/stream")
    assert (status, body) == (200, b"".join(f"chunk {i}\n".encode() for i in range(5)))
    assert server.terminate() == 0, server.output()
    assert not wait_gone(server.workers), f"workers left behind:\n{server.output()}"
    assert len(server.workers) == 2, server.output()


def test_tcp_example(tmp_path: Path) -> None:
    port = free_port()
    args = [
        "-c",
        "examples/tcp.rr.yaml",
        "-o",
        f"http.address=127.0.0.1:{port}",
        "-o",
        f"server.relay=tcp://127.0.0.1:{free_port()}",
    ]
    with serve(args, tmp_path / "server.log", port) as server:
        check_hello_then_stop(server)


def test_unix_example(tmp_path: Path, short_dir: str) -> None:
    port = free_port()
    sock = f"{short_dir}/rr.sock"
    args = [
        "-c",
        "examples/unix.rr.yaml",
        "-o",
        f"http.address=127.0.0.1:{port}",
        "-o",
        f"server.relay=unix://{sock}",
    ]
    with serve(args, tmp_path / "server.log", port) as server:
        assert Path(sock).is_socket()
        check_hello_then_stop(server)
    assert not Path(sock).exists(), "the socket file must be removed on exit"


def test_default_config(tmp_path: Path) -> None:
    port = free_port()
    args = ["-c", "config/rr.yaml", "-o", f"http.address=127.0.0.1:{port}"]
    with serve(args, tmp_path / "server.log", port) as server:
        check_hello_then_stop(server)
