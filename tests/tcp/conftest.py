"""Fixtures of the tcp tests (the harness itself is ``tests/tcp/harness.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tcp.harness import TcpHarness


@pytest.fixture
def tcp(tmp_path: Path) -> Iterator[TcpHarness]:
    harness = TcpHarness(tmp_path)
    yield harness
    harness.close()
