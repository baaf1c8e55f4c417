"""The PHP example: its config loads, and the dependency-free raw PHP worker serves.

worker.php itself needs ``composer install`` (and the network), so it is not run here;
raw_worker.php speaks the same protocol with nothing but php-cli.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.system import ActorSystem
from tests.examples._serve import ROOT, serve, wait_gone
from tests.support.procs import free_port

PHP_DIR = ROOT / "examples" / "php"

needs_php = pytest.mark.skipif(
    shutil.which("php") is None,
    reason="php-cli is not installed (apt-get install php-cli): raw PHP worker not tested",
)


@pytest.fixture
def short_dir() -> Iterator[str]:
    path = tempfile.mkdtemp(prefix="gr-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_php_config_is_a_valid_roadrunner_config() -> None:
    system = ActorSystem.from_file(PHP_DIR / ".rr.yaml")
    assert system.config.server.command == ["php", "worker.php"]
    assert system.config.http.pool.num_workers == 4
    assert system.config.http.pool.supervisor.exec_ttl == 30
    composer = json.loads((PHP_DIR / "composer.json").read_text())
    assert {"spiral/roadrunner-http", "nyholm/psr7"} <= set(composer["require"])


@needs_php
@pytest.mark.parametrize("relay", ["pipes", "tcp", "unix"])
def test_raw_php_worker(relay: str, tmp_path: Path, short_dir: str) -> None:
    port = free_port()
    dsn = {
        "pipes": "pipes",
        "tcp": f"tcp://127.0.0.1:{free_port()}",
        "unix": f"unix://{short_dir}/rr.sock",
    }[relay]
    args = [
        "-w",
        "examples/php",
        "-c",
        ".rr.yaml",
        "-o",
        "server.command=php raw_worker.php",
        "-o",
        "http.pool.num_workers=2",
        "-o",
        f"http.address=127.0.0.1:{port}",
        "-o",
        f"server.relay={dsn}",
    ]
    with serve(args, tmp_path / "server.log", port) as server:
        for _ in range(3):
            status, headers, body = server.get("/hello?x=1")
            assert status == 200, server.output()
            assert headers["Content-Type"] == "text/plain"
            text = body.decode()
            assert text.startswith("Hello from raw PHP "), text
            assert text.endswith(f": GET http://127.0.0.1:{port}/hello?x=1\n"), text
        assert server.terminate() == 0, server.output()
        assert len(server.workers) == 2, server.output()
        assert not wait_gone(server.workers), f"PHP workers left behind:\n{server.output()}"
