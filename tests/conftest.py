"""Fixtures shared by every test folder, each defined once.

The harnesses they hand out live in :mod:`tests.support`.  Two families spawn real workers:

* ``pool_harness`` (and ``pipes_pool_harness``, ``sockets_pool_harness``): ActorSystems with a
  pool, for the actor core and the fault checklist (:class:`~tests.support.pools.PoolHarness`);
* ``relay_harness`` (and ``pipes_relay_harness``, ``sockets_relay_harness``): bare relays to
  workers, no pool, for the relay tests (:class:`~tests.support.relay_harness.RelayHarness`).

The unprefixed fixture runs a test once per relay kind (pipes, tcp, unix); ``pipes_*`` is for
what only the pipes relay has, ``sockets_*`` (tcp, unix) for what only socket relays have.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.http_servers import Servers
from tests.support.pools import PoolHarness
from tests.support.relay_harness import RelayHarness
from tests.support.tls import TlsServers, make_certs
from tests.support.workers import RELAYS

SOCKET_RELAYS = ["tcp", "unix"]


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A temp dir removed afterwards, short on purpose: AF_UNIX paths are limited to ~108 bytes
    and pytest's ``tmp_path`` may be longer."""
    path = tempfile.mkdtemp(prefix="gr-")
    try:
        yield Path(path)
    finally:
        # ignore_errors: a test may leave files another user wrote (on_init's ``user``).
        shutil.rmtree(path, ignore_errors=True)


def _pool_harness(relay: str, tmp_path: Path) -> Iterator[PoolHarness]:
    h = PoolHarness(relay, tmp_path)
    try:
        yield h
    finally:
        h.close()


@pytest.fixture(params=RELAYS)
def pool_harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PoolHarness]:
    """Pools of real workers on each relay in turn: pipes, tcp, unix."""
    yield from _pool_harness(request.param, tmp_path)


@pytest.fixture
def pipes_pool_harness(tmp_path: Path) -> Iterator[PoolHarness]:
    """Pools of real workers on the pipes relay only."""
    yield from _pool_harness("pipes", tmp_path)


@pytest.fixture(params=SOCKET_RELAYS)
def sockets_pool_harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PoolHarness]:
    """Pools of real workers on each socket relay in turn: tcp, unix."""
    yield from _pool_harness(request.param, tmp_path)


def _relay_harness(kind: str, short_tmp: Path) -> Iterator[RelayHarness]:
    h = RelayHarness(kind, short_tmp)
    h.start()
    try:
        yield h
    finally:
        h.close()


@pytest.fixture(params=RELAYS)
def relay_harness(request: pytest.FixtureRequest, short_tmp: Path) -> Iterator[RelayHarness]:
    """Workers on a bare relay of each kind in turn: pipes, tcp, unix."""
    yield from _relay_harness(request.param, short_tmp)


@pytest.fixture
def pipes_relay_harness(short_tmp: Path) -> Iterator[RelayHarness]:
    """For what only the pipes relay has (stdout corruption, the pipes handshake)."""
    yield from _relay_harness("pipes", short_tmp)


@pytest.fixture(params=SOCKET_RELAYS)
def sockets_relay_harness(
    request: pytest.FixtureRequest, short_tmp: Path
) -> Iterator[RelayHarness]:
    """For what only socket relays have (the listener, matching workers by pid)."""
    yield from _relay_harness(request.param, short_tmp)


@pytest.fixture
def servers() -> Iterator[Servers]:
    """Starts http servers on demand; stops them, their workers and temp dirs afterwards."""
    factory = Servers()
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture(autouse=True)
def _logging_handed_back() -> Iterator[None]:
    """Undo a test's ``setup_logging`` (an ActorSystem's ``start()``), so the next test's
    ``caplog`` sees the ``greenrunner`` records again (setup stops their propagation)."""
    yield
    import logging

    if not logging.getLogger("greenrunner").propagate:
        from actors.logs import reset_logging

        reset_logging()


@pytest.fixture(scope="session")
def certs() -> Iterator[Path]:
    """A CA, a server certificate for localhost/127.0.0.1, a client certificate of that CA and
    one of another CA (``support/tls.py``), made once per session with the openssl CLI."""
    d = Path(tempfile.mkdtemp(prefix="gr-certs-"))
    try:
        yield make_certs(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def tls_servers(certs: Path) -> Iterator[TlsServers]:
    """Like ``servers``, with the ``http`` section exactly as given (TLS only is possible)."""
    factory = TlsServers(certs)
    try:
        yield factory
    finally:
        factory.close()
