"""Fixtures of the jobs tests (the harness itself is ``tests/jobs/harness.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.jobs.harness import JobsHarness


@pytest.fixture
def jobs(tmp_path: Path) -> Iterator[JobsHarness]:
    harness = JobsHarness(tmp_path)
    yield harness
    harness.close()
