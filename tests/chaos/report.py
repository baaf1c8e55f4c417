"""The figures a chaos scenario prints and records (issue 9).

Every scenario fills one :class:`Figures`; :func:`publish` prints it (``pytest -s`` shows it)
and writes it as JSON and markdown under pytest's tmp dir, so a run leaves its numbers behind
even when the assertions after it fail.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))
    return ordered[index]


@dataclass
class Figures:
    """What issue 9 asks every scenario to report."""

    scenario: str
    seconds: float = 0.0
    sent: int = 0
    answered: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    max_latency_ms: float = 0.0
    p99_ms: float = 0.0
    workers_min: int | None = None
    workers_max: int | None = None
    below_floor_s: float | None = None
    fds_before: int | None = None
    fds_after: int | None = None
    rss_kib_before: int | None = None
    rss_kib_after: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def record_latencies(self, latencies: list[float]) -> None:
        self.max_latency_ms = round(max(latencies, default=0.0) * 1000, 2)
        self.p99_ms = round(percentile(latencies, 0.99) * 1000, 2)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["errors"] = dict(self.errors)
        return data

    def markdown(self) -> str:
        rows = [(k, v) for k, v in self.as_dict().items() if k not in ("scenario", "extra")]
        rows += sorted(self.extra.items())
        lines = [f"### {self.scenario}", "", "| figure | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in rows]
        return "\n".join(lines) + "\n"


#: The ``report`` fixture: prints figures, writes them, returns the markdown file's path.
Reporter = Callable[["Figures"], Path]


def publish(figures: Figures, directory: Path) -> Path:
    """Print ``figures`` and write them to ``directory``; return the markdown file's path."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = figures.scenario.replace(" ", "_").replace("/", "_")
    (directory / f"{stem}.json").write_text(json.dumps(figures.as_dict(), indent=2) + "\n")
    path = directory / f"{stem}.md"
    path.write_text(figures.markdown())
    print(f"\n{figures.markdown()}figures written to {path}")
    return path
