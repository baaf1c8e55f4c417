"""Worker stderr lines, logged the way RoadRunner does: INFO on the ``server`` channel."""

from __future__ import annotations

import logging

from actors.logs.levels import get_logger

__all__ = ["forward_worker_output"]

_SERVER = get_logger("server")


def forward_worker_output(pid: int, line: bytes | str) -> None:
    """Log one line a worker wrote on stderr (``pid`` as a field).

    The line is kept whole (no truncation) and, in raw mode, printed as the
    worker wrote it; one trailing newline is dropped because every output line
    gets its own.  Undecodable bytes become ``\\xNN`` escapes.  This runs on the
    greenlet draining the worker's pipe, so it never raises (a failure here must
    not stop the drain: a full pipe would block the worker) and never blocks:
    the line goes through the same off-hub writer as every other record.
    """
    try:
        if not _SERVER.isEnabledFor(logging.INFO):
            return
        if isinstance(line, bytes | bytearray | memoryview):
            text = bytes(line).decode("utf-8", "backslashreplace")
        else:
            text = str(line)
        if text.endswith("\n"):
            text = text[:-2] if text.endswith("\r\n") else text[:-1]
        _SERVER.log(logging.INFO, text, extra={"fields": {"pid": pid}}, stacklevel=2)
    except Exception:
        pass  # by contract: losing one log line beats stopping the drain
