"""RoadRunner's ``rr workers`` output: its table layout and its human units.

``rr`` renders with Go's tablewriter and go-humanize; operators read (and sometimes
parse) that output, so the columns, minimum widths, units and relative times follow
those libraries rather than Python's conventions.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["humanize_bytes", "humanize_time", "jobs_table", "render_table", "workers_table"]

_SI = ("B", "kB", "MB", "GB", "TB", "PB", "EB")
_WORKER_HEADER = ("PID", "STATUS", "EXECS", "MEMORY", "CPU%", "CREATED")
_WORKER_MIN_WIDTH = (7, 9, 7, 7, 7, 18)
_JOBS_HEADER = ("STATUS", "PIPELINE", "DRIVER", "QUEUE", "ACTIVE", "DELAYED", "RESERVED")


def humanize_bytes(size: int) -> str:
    """go-humanize's ``Bytes``: SI units, one decimal below 10 (``21 MB``, ``1.5 kB``)."""
    if size < 10:
        return f"{size} B"
    exp = min(math.floor(math.log(size) / math.log(1000)), len(_SI) - 1)
    value = math.floor(size / 1000**exp * 10 + 0.5) / 10
    return f"{value:.1f} {_SI[exp]}" if value < 10 else f"{value:.0f} {_SI[exp]}"


def _ago(n: int, unit: str) -> str:
    return f"1 {unit} ago" if n == 1 else f"{n} {unit}s ago"


def humanize_time(then: float, now: float | None = None) -> str:
    """go-humanize's ``Time`` for the past: ``now``, ``5 seconds ago``, ``2 minutes ago``..."""
    delta = (time.time() if now is None else now) - then
    if delta < 1:
        return "now"
    for limit, size, unit in (
        (60, 1, "second"),
        (3600, 60, "minute"),
        (86400, 3600, "hour"),
        (7 * 86400, 86400, "day"),
        (30 * 86400, 7 * 86400, "week"),
        (365 * 86400, 30 * 86400, "month"),
    ):
        if delta < limit:
            return _ago(int(delta // size), unit)
    return _ago(int(delta // (365 * 86400)), "year")


def _is_number(text: str) -> bool:
    return bool(text) and text.replace(",", "").replace(".", "", 1).lstrip("-").isdigit()


def render_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], min_width: Sequence[int] = ()
) -> str:
    """tablewriter's default look: ``+---+`` borders, centred header, numbers to the right."""
    widths = [max(len(h), *(len(r[i]) for r in rows), 0) for i, h in enumerate(header)]
    widths = [max(w, min_width[i] if i < len(min_width) else 0) for i, w in enumerate(widths)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    lines = [rule, "|" + "|".join(f" {h:^{w}} " for h, w in zip(header, widths, strict=True)) + "|"]
    lines.append(rule)
    for row in rows:
        cells = (
            f" {c:>{w}} " if _is_number(c) else f" {c:<{w}} "
            for c, w in zip(row, widths, strict=True)
        )
        lines.append("|" + "|".join(cells) + "|")
    lines.append(rule)
    return "\n".join(lines)


def workers_table(workers: Sequence[Mapping[str, Any]], now: float | None = None) -> str:
    """The ``Workers of [name]:`` table: rows by pid, RoadRunner's columns and units."""
    rows = [
        (
            str(w.get("pid", 0)),
            str(w.get("statusStr", "")),
            f"{int(w.get('numExecs', 0)):,}",
            humanize_bytes(int(w.get("memoryUsage", 0))),
            f"{float(w.get('CPUPercent', 0.0)):.2f}",
            humanize_time(int(w.get("created", 0)) / 1e9, now),
        )
        for w in sorted(workers, key=lambda w: int(w.get("pid", 0)))
    ]
    return render_table(_WORKER_HEADER, rows, _WORKER_MIN_WIDTH)


def jobs_table(jobs: Sequence[Mapping[str, Any]]) -> str:
    """The ``Jobs of [name]:`` table, rows by pipeline (keys in either case, as Go reads them)."""

    def get(job: Mapping[str, Any], key: str) -> Any:
        return job.get(key, job.get(key.lower(), ""))

    rows = [
        (
            "READY" if get(j, "Ready") else "PAUSED/STOPPED",
            str(get(j, "Pipeline")),
            str(get(j, "Driver")),
            str(get(j, "Queue")),
            str(get(j, "Active") or 0),
            str(get(j, "Delayed") or 0),
            str(get(j, "Reserved") or 0),
        )
        for j in sorted(jobs, key=lambda j: str(get(j, "Pipeline")))
    ]
    return render_table(_JOBS_HEADER, rows)
