"""Glue shared by the server scenarios: process figures before and after, load figures."""

from __future__ import annotations

from tests.chaos.load import Outcome
from tests.chaos.report import Figures
from tests.chaos.server import WorkerCount, fd_count, rss_kib


def before(figures: Figures, pid: int) -> None:
    """Record the server's fds and RSS before the chaos starts."""
    figures.fds_before = fd_count(pid)
    figures.rss_kib_before = rss_kib(pid)


def after(figures: Figures, pid: int) -> None:
    """Record the server's fds and RSS once the chaos is over."""
    figures.fds_after = fd_count(pid)
    figures.rss_kib_after = rss_kib(pid)


def load(figures: Figures, outcome: Outcome) -> None:
    """Copy what the clients saw into ``figures``."""
    figures.sent += outcome.sent
    figures.answered += outcome.answered
    figures.errors.update(outcome.errors)
    figures.record_latencies(outcome.latencies)


def workers(figures: Figures, count: WorkerCount) -> None:
    """Copy the worker-count samples into ``figures``."""
    figures.workers_min = count.minimum
    figures.workers_max = count.maximum
    figures.below_floor_s = round(count.total_below, 3)
    figures.extra["longest_below_floor_s"] = round(count.longest_below, 3)
