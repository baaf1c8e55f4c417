"""Fixtures shared by every test folder.

The harnesses themselves live next to the tests that introduced them
(``tests/core/conftest.py``: an ActorSystem and a pool on a relay;
``tests/http/conftest.py``: an ActorSystem with the http plugin); the
fixtures that hand them out are defined once, here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.conftest import RELAYS, Harness
from tests.http.conftest import Servers


@pytest.fixture(params=RELAYS)
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    """A pool factory on each relay in turn: pipes, tcp, unix."""
    h = Harness(request.param, tmp_path)
    yield h
    h.close()


@pytest.fixture
def pipes(tmp_path: Path) -> Iterator[Harness]:
    h = Harness("pipes", tmp_path)
    yield h
    h.close()


@pytest.fixture(params=["tcp", "unix"])
def sockets(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    h = Harness(request.param, tmp_path)
    yield h
    h.close()


@pytest.fixture
def servers() -> Iterator[Servers]:
    """Starts http servers on demand; stops them, their workers and temp dirs afterwards."""
    factory = Servers()
    try:
        yield factory
    finally:
        factory.close()
