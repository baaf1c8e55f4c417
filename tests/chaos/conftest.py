"""Fixtures of the chaos suite: its duration knob and where its figures go."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.chaos.report import Figures, Reporter, publish

#: Seconds per scenario unless ``CHAOS_SECONDS`` says otherwise (issue 9's figures: 60).
DEFAULT_SECONDS = 10.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/chaos/ carries the ``chaos`` marker (``-m chaos`` selects it)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.chaos)


@pytest.fixture
def chaos_seconds() -> float:
    """How long a scenario runs its load: ``CHAOS_SECONDS`` (default 10 s)."""
    raw = os.environ.get("CHAOS_SECONDS", "")
    try:
        seconds = float(raw) if raw else DEFAULT_SECONDS
    except ValueError:
        raise pytest.UsageError(f"CHAOS_SECONDS must be a number of seconds, got {raw!r}") from None
    if not 1 <= seconds <= 3600:
        raise pytest.UsageError(f"CHAOS_SECONDS must be between 1 and 3600, got {seconds}")
    return seconds


@pytest.fixture
def report(tmp_path_factory: pytest.TempPathFactory) -> Reporter:
    """``report(figures)`` prints them and writes JSON + markdown under pytest's tmp dir."""
    directory = tmp_path_factory.getbasetemp() / "chaos-figures"

    def _report(figures: Figures) -> Path:
        return publish(figures, directory)

    return _report
