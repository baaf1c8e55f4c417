"""Fixtures of the TLS tests: certificates made once per session, servers per test."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.tls import TlsServers, make_certs


@pytest.fixture(scope="session")
def certs() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="gr-certs-"))
    try:
        yield make_certs(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def tls_servers(certs: Path) -> Iterator[TlsServers]:
    factory = TlsServers(certs)
    try:
        yield factory
    finally:
        factory.close()
