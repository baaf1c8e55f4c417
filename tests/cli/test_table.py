"""``workers`` prints RoadRunner's table: its columns, units and ordering."""

from __future__ import annotations

from actors.cli.table import humanize_bytes, humanize_time, jobs_table, workers_table

NOW = 1_700_000_125.0


def test_bytes_follow_go_humanize() -> None:
    assert [humanize_bytes(n) for n in (0, 9, 10, 1500, 20_971_520, 999_999, 5 * 10**9)] == [
        "0 B",
        "9 B",
        "10 B",
        "1.5 kB",
        "21 MB",
        "1000 kB",
        "5.0 GB",
    ]


def test_times_are_relative() -> None:
    assert humanize_time(NOW, NOW) == "now"
    assert humanize_time(NOW - 1, NOW) == "1 second ago"
    assert humanize_time(NOW - 59, NOW) == "59 seconds ago"
    assert humanize_time(NOW - 125, NOW) == "2 minutes ago"
    assert humanize_time(NOW - 3 * 3600, NOW) == "3 hours ago"
    assert humanize_time(NOW - 2 * 86400, NOW) == "2 days ago"


def test_workers_table_rows_by_pid_with_rr_columns() -> None:
    created = int((NOW - 125) * 1e9)
    workers = [
        {"pid": 99, "statusStr": "working", "numExecs": 3, "memoryUsage": 10, "created": created},
        {
            "pid": 7,
            "statusStr": "ready",
            "numExecs": 1_234_567,
            "memoryUsage": 20_971_520,
            "CPUPercent": 0.5,
            "created": created,
        },
    ]
    lines = workers_table(workers, NOW).splitlines()
    assert [c.strip() for c in lines[1].strip("|").split("|")] == [
        "PID",
        "STATUS",
        "EXECS",
        "MEMORY",
        "CPU%",
        "CREATED",
    ]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[3:5]]
    assert rows == [
        ["7", "ready", "1,234,567", "21 MB", "0.50", "2 minutes ago"],
        ["99", "working", "3", "10 B", "0.00", "2 minutes ago"],
    ]
    assert len({len(line) for line in lines}) == 1  # a rectangle
    assert lines[0] == lines[2] == lines[-1] and set(lines[0]) == {"+", "-"}


def test_jobs_table_reads_go_field_names_in_either_case() -> None:
    out = jobs_table(
        [
            {"Pipeline": "b", "Driver": "memory", "Queue": "q", "Ready": False, "Active": 2},
            {"pipeline": "a", "driver": "amqp", "queue": "default", "ready": True, "delayed": 1},
        ]
    )
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in out.splitlines()[3:5]]
    assert rows == [
        ["READY", "a", "amqp", "default", "0", "1", "0"],
        ["PAUSED/STOPPED", "b", "memory", "q", "2", "0", "0"],
    ]
