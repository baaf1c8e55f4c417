"""What a worker process costs: resident memory and CPU share, as ``rr workers`` shows them.

Memory is read from ``/proc/PID/statm`` (what RoadRunner reads, and the cheapest: the
supervisor asks every tick); where ``/proc`` is missing, psutil answers. The CPU share
is RoadRunner's (gopsutil's ``CPUPercent``): CPU time used since the process started,
over the time it has existed, so it needs no sampling state.
"""

from __future__ import annotations

import os
import time

import psutil

__all__ = ["cpu_percent", "rss_bytes"]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_HAVE_PROC = os.path.isdir("/proc/self")


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` in bytes; 0 once the process is gone."""
    if _HAVE_PROC:
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                return int(f.read().split()[1]) * _PAGE
        except (OSError, IndexError, ValueError):
            return 0
    try:
        return int(psutil.Process(pid).memory_info().rss)
    except psutil.Error:
        return 0


def cpu_percent(pid: int) -> float:
    """Percent of one CPU used by ``pid`` over its lifetime; 0.0 once it is gone."""
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            times = proc.cpu_times()
            started = proc.create_time()
    except psutil.Error:
        return 0.0
    elapsed = time.time() - started
    return (times.user + times.system) / elapsed * 100.0 if elapsed > 0 else 0.0
