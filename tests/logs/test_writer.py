"""The off-hub writer on real pipes and files: order, overflow accounting, flush, exit.

A pipe whose read end nobody reads is the blocked output: once its buffer is
full, ``os.write`` blocks the writer thread, exactly as a stalled stderr does.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.logs.writer import EXIT_FLUSH_TIMEOUT, Destination, LineWriter, drop_notice_text

REPO = Path(__file__).resolve().parents[2]
NOTICE_RE = re.compile(r"^(\d+) log lines dropped: output was blocked$")


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    """A pipe with a one-page buffer (F_SETPIPE_SZ), so that it fills fast."""
    r, w = os.pipe()
    with contextlib.suppress(OSError):
        fcntl.fcntl(w, 1031, 4096)  # F_SETPIPE_SZ: Linux only, the default 64 KiB works too
    yield r, w
    for fd in (r, w):
        with contextlib.suppress(OSError):
            os.close(fd)


def drain(fd: int) -> tuple[threading.Thread, bytearray]:
    """Read ``fd`` to EOF in a thread; the bytes collect in the returned buffer."""
    got = bytearray()

    def run() -> None:
        while chunk := os.read(fd, 65536):
            got.extend(chunk)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, got


def test_lines_keep_their_order(tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    dest = Destination(fd, None)
    writer = LineWriter("file", owned=dest, max_lines=30_000)  # order here, not overflow
    lines = [f"line {i} {'x' * (i % 50)}\n" for i in range(20_000)]
    for line in lines:
        assert writer.put(dest, line)
    assert writer.close(10.0)
    assert path.read_text().splitlines() == [x[:-1] for x in lines]
    assert writer.dropped_total == 0
    with pytest.raises(OSError):
        os.fstat(fd)  # the writer closed the file it owned once everything was written


def merged(lines: list[str]) -> list[str]:
    """Consecutive drop notices as one (the writer may split one run of drops in two)."""
    out: list[str] = []
    for line in lines:
        m = NOTICE_RE.match(line)
        prev = NOTICE_RE.match(out[-1]) if out else None
        if m and prev:
            out[-1] = drop_notice_text(int(prev.group(1)) + int(m.group(1)))
        else:
            out.append(line)
    return out


def expected(results: list[tuple[str, bool]]) -> list[str]:
    """What the output must read: accepted lines in order, a notice where each run was lost."""
    out: list[str] = []
    run = 0
    for line, accepted in results:
        if not accepted:
            run += 1
            continue
        if run:
            out.append(drop_notice_text(run))
            run = 0
        out.append(line)
    if run:
        out.append(drop_notice_text(run))
    return out


def test_overflow_is_counted_and_noticed_where_lines_went_missing(
    pipe: tuple[int, int],
) -> None:
    r, w = pipe
    dest = Destination(w, None)
    writer = LineWriter("pipe", max_lines=50)
    results: list[tuple[str, bool]] = []
    # Phase 1: nobody reads.  The pipe fills, the writer blocks, the queue fills, lines drop.
    started = time.monotonic()
    for i in range(5_000):
        results.append((f"a{i}", writer.put(dest, f"a{i}\n")))
    assert time.monotonic() - started < 2.0, "put() waited for the blocked output"
    dropped = sum(1 for _, ok in results if not ok)
    assert dropped > 3_000 and writer.dropped_total == dropped  # the pipe holds ~800 lines
    # Phase 2: the output drains; lines logged from now on go through again.
    reader, got = drain(r)
    assert writer.flush(10.0)
    for i in range(40):  # fewer than max_lines: the queue cannot be full even if not written yet
        assert writer.put(dest, f"b{i}\n")
        results.append((f"b{i}", True))
    assert writer.close(10.0)
    os.close(w)
    reader.join(10.0)
    out = got.decode().splitlines()
    assert merged(out) == expected(results)
    assert sum(int(m.group(1)) for m in map(NOTICE_RE.match, out) if m) == dropped
    assert out[-40:] == [f"b{i}" for i in range(40)]


def test_drop_notice_is_written_without_waiting_for_another_line(pipe: tuple[int, int]) -> None:
    r, w = pipe
    dest = Destination(w, None)
    writer = LineWriter("pipe", max_lines=10, notice=lambda n: f"NOTICE {n}\n")
    results = [writer.put(dest, f"{i}\n") for i in range(3_000)]
    lost = results.count(False)
    assert lost > 0
    reader, got = drain(r)
    assert writer.flush(10.0)  # flush waits for the notice too
    writer.put(dest, "after\n")
    assert writer.close(10.0)
    os.close(w)
    reader.join(10.0)
    assert got.decode().splitlines()[-2:] == [f"NOTICE {lost}", "after"]


def test_flush_reports_a_blocked_output_within_its_timeout(pipe: tuple[int, int]) -> None:
    r, w = pipe
    dest = Destination(w, None)
    writer = LineWriter("pipe")
    for i in range(4_000):  # 124 KB: more than even a default 64 KiB pipe holds
        writer.put(dest, f"{i:>30}\n")
    started = time.monotonic()
    assert writer.flush(0.3) is False
    assert time.monotonic() - started < 2.0
    reader, got = drain(r)
    assert writer.close(10.0)
    os.close(w)
    reader.join(5.0)
    assert len(got.decode().splitlines()) == 4_000


def test_close_flushes_queued_lines(tmp_path: Path) -> None:
    path = tmp_path / "close.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    dest = Destination(fd, None)
    writer = LineWriter("file", owned=dest)
    for i in range(1_000):
        writer.put(dest, f"{i}\n")
    assert writer.close(10.0)
    assert path.read_text().split() == [str(i) for i in range(1_000)]
    assert writer.put(dest, "after close\n") is False
    assert path.read_text().split()[-1] == "999"


def test_failed_write_is_reported_and_the_writer_goes_on(tmp_path: Path) -> None:
    r, w = os.pipe()
    os.close(r)  # EPIPE from now on
    errors: list[BaseException] = []
    path = tmp_path / "ok.log"
    good = Destination(os.open(path, os.O_WRONLY | os.O_CREAT), None)
    writer = LineWriter("mixed", on_error=errors.append, owned=good)
    writer.put(Destination(w, None), "into the void\n")
    assert writer.flush(5.0)
    writer.put(good, "still written\n")
    assert writer.close(5.0)
    os.close(w)
    assert [type(e) for e in errors] == [BrokenPipeError]
    assert path.read_text() == "still written\n"


def test_stream_without_descriptor_and_unencodable_text() -> None:
    buf = io.BytesIO()
    stream = io.TextIOWrapper(buf, encoding="ascii", write_through=True)
    dest = Destination.of_stream(stream)
    assert dest.fd is None  # BytesIO has no descriptor: written through the stream
    writer = LineWriter("memory")
    writer.put(dest, "caf\u00e9\n")
    assert writer.close(5.0)
    assert buf.getvalue() == b"caf\\xe9\n"


def _exit_script(body: str) -> str:
    return textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from actors.config.model import LogsConfig
        from actors.logs import get_logger, setup_logging
        setup_logging(LogsConfig(mode="raw", output=["stderr"]))
        log = get_logger("server")
        """
    ) + textwrap.dedent(body)


def test_exit_writes_every_queued_line() -> None:
    script = _exit_script(
        """
        for i in range(20000):
            log.info("line %d", i)
        sys.exit(3)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=60, check=False
    )
    assert proc.returncode == 3
    assert proc.stderr.decode().splitlines() == [f"line {i}" for i in range(20000)]


def test_exit_with_a_blocked_output_is_bounded_and_clean() -> None:
    """A stderr nobody reads: exit waits its 5 s at most, then exits with the program's code.

    A writer blocked inside ``sys.stderr.write`` would hold the stream's lock and make the
    interpreter abort at exit (status -6); the writer's ``os.write`` holds no lock.
    """
    r, w = os.pipe()
    script = _exit_script(
        """
        for i in range(30000):
            log.info("line %d", i)
        print("logged", flush=True)
        sys.exit(4)
        """
    )
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", script], stderr=w, stdout=subprocess.PIPE, pass_fds=()
        )
        os.close(w)
        w = -1
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"logged\n"  # logging itself did not block
        logged = time.monotonic()
        code = proc.wait(timeout=30)
        assert code == 4
        exiting = time.monotonic() - logged
        assert exiting < EXIT_FLUSH_TIMEOUT + 5, f"exit took {exiting:.1f}s"
        # What did get out is in order.  The last line may be cut: the process ended while
        # the writer was blocked in the middle of writing it.
        proc.stdout.close()
        out = b""
        while chunk := os.read(r, 65536):
            out += chunk
        *whole, last = out.decode().splitlines()
        assert whole == [f"line {i}" for i in range(len(whole))]
        assert f"line {len(whole)}".startswith(last)
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def test_drop_notice_text() -> None:
    assert drop_notice_text(7) == "7 log lines dropped: output was blocked"
