"""One configured log output (``stderr``, ``stdout`` or a file) and its off-hub writer.

Several handlers may share an output (the global logger and a channel both
writing to stderr); they share its :class:`~actors.logs.writer.LineWriter`
too, so their lines stay in the order they were logged.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence

from actors.logs.levels import ROOT_LOGGER
from actors.logs.writer import Destination, LineWriter, drop_notice_text

__all__ = ["STDIO", "ErrorReporter", "Output", "notice_formatter"]

STDIO = ("stderr", "stdout")
#: The logger named on the dropped-lines notice.
NOTICE_LOGGER = ROOT_LOGGER + ".logs"


class Output:
    """Where one ``output`` / ``err_output`` entry writes.

    stderr/stdout are looked up on each line, so a replaced ``sys.stderr``
    (pytest, a daemonising embedder) is honoured; a file is opened (appended
    to) when the output is built, so a bad path fails ``setup_logging``.
    """

    def __init__(
        self, target: str, on_error: Callable[[str, BaseException], None] | None = None
    ) -> None:
        self.target = target
        self._fixed: Destination | None = None
        self._cache: tuple[object, Destination | None] = (object(), None)
        if target not in STDIO:
            path = target[len("file://") :] if target.startswith("file://") else target
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666)
            self._fixed = Destination(fd, None, "utf-8")

        def failed(exc: BaseException) -> None:
            if on_error is not None:
                on_error(target, exc)

        self.writer = LineWriter(target, on_error=failed, owned=self._fixed)

    def destination(self) -> Destination | None:
        """Where a line goes now (None when stdio is detached, e.g. under pythonw)."""
        if self._fixed is not None:
            return self._fixed
        stream = sys.stderr if self.target == "stderr" else sys.stdout
        cached = self._cache
        if cached[0] is stream:
            return cached[1]
        dest = None if stream is None else Destination.of_stream(stream)
        self._cache = (stream, dest)
        return dest

    def isatty(self) -> bool:
        """Whether the output is a terminal now (decides colours)."""
        dest = self.destination()
        return dest is not None and dest.isatty

    def put(self, text: str) -> None:
        """Queue one line (with its newline); never blocks, never raises."""
        dest = self.destination()
        if dest is not None:
            self.writer.put(dest, text)

    def close(self, timeout: float) -> bool:
        """Write what is queued (waiting at most ``timeout`` s), then close a file output."""
        return self.writer.close(timeout)


def notice_formatter(formatter: logging.Formatter) -> Callable[[int], str]:
    """The dropped-lines notice in an output's own shape (JSON, console or raw).

    It runs on the writer thread: it builds a fresh record and touches
    nothing but the formatter, which keeps no state between records.
    """

    def notice(count: int) -> str:
        record = logging.LogRecord(
            NOTICE_LOGGER, logging.WARNING, __file__, 0, drop_notice_text(count), None, None
        )
        record.fields = {"dropped": count}
        return formatter.format(record) + "\n"

    return notice


class ErrorReporter:
    """Says once, on ``err_output``, that an output failed; later failures stay silent.

    Called from writer threads (a failed write) and from the logging thread
    (a formatter that raised), hence the lock.
    """

    def __init__(self, outputs: Sequence[Output] = ()) -> None:
        self.outputs: Sequence[Output] = outputs
        self._lock = threading.Lock()
        self._reported = False

    def report(self, where: str, exc: BaseException | None) -> None:
        """Queue the one note; err_output may be the broken output itself, which is harmless."""
        with self._lock:
            if self._reported:
                return
            self._reported = True
        note = f"greenrunner logs: cannot write to {where}: {exc!r} (further failures are silent)\n"
        for output in self.outputs:
            output.put(note)
