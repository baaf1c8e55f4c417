"""Fixtures of the middleware tests: a server factory with the WSGI or the PHP-style worker.

``mw`` starts a real server (``tests.support.http_servers``) whose ``http`` section gets the
middleware settings of the test; ``kind`` runs a test once per worker kind (PHP skipped
without php-cli).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.http_servers import Server, Servers
from tests.support.workers import REPO

PHP_WORKER = Path(__file__).parent / "workers" / "mw_worker.php"
KINDS = ["wsgi", "php"]

needs_php = pytest.mark.skipif(
    shutil.which("php") is None,
    reason="php-cli is not installed (apt-get install php-cli): PHP-style worker not tested",
)


def command(kind: str) -> list[str]:
    """argv of the test worker of ``kind``."""
    if kind == "php":
        if shutil.which("php") is None:
            pytest.skip("php-cli is not installed (apt-get install php-cli)")
        return ["php", str(PHP_WORKER)]
    return [
        sys.executable,
        "-m",
        "relays.wsgi",
        "--chdir",
        str(REPO),
        "tests.http_middleware.apps:app",
    ]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    """Each test that takes ``kind`` runs with the WSGI app and with the PHP worker."""
    return str(request.param)


Start = Callable[..., Server]


@pytest.fixture
def mw(servers: Servers) -> Start:
    """``mw(middleware=[...], kind="wsgi", **http_keys)``: a server with those settings."""

    def start(middleware: list[str], kind: str = "wsgi", **http: Any) -> Server:
        return servers(
            command(kind), pool={"num_workers": 1}, http={"middleware": middleware, **http}
        )

    return start
