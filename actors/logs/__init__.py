"""Logging shaped like RoadRunner's ``logs`` plugin, built on the stdlib :mod:`logging`.

Why stdlib and not a zap look-alike: an embedding application, pykka and any
library already speak :mod:`logging`, so Greenrunner's records stay ordinary
:class:`logging.LogRecord` objects under one ``greenrunner`` logger tree
(``greenrunner.server``, ``greenrunner.http``, ...); structured fields travel
in ``extra={"fields": {...}}`` (or :func:`log`).

The pieces, one module each:

* :mod:`.levels`: RR level names, channel loggers, :func:`log`;
* :mod:`.formatters`: console / JSON / raw lines;
* :mod:`.writer`: the off-hub writer (a bounded queue per output, drained by
  an OS thread), so a blocked output never stalls the gevent hub;
* :mod:`.outputs`: stderr / stdout / file outputs and the once-only error note;
* :mod:`.handler`: the handler that formats and queues;
* :mod:`.setup`: :func:`setup_logging` from the ``logs`` config;
* :mod:`.worker_output`: worker stderr lines.

Logging must never take the server down: a closed or broken output (EPIPE) is
reported once on ``err_output`` and otherwise ignored.
"""

from __future__ import annotations

from actors.logs.formatters import ConsoleFormatter, JsonFormatter, RawFormatter
from actors.logs.handler import GreenrunnerHandler
from actors.logs.levels import (
    ENCODINGS,
    FATAL,
    LEVELS,
    MODES,
    OFF,
    PANIC,
    ROOT_LOGGER,
    get_logger,
    level_name,
    log,
    parse_level,
)
from actors.logs.setup import flush_logging, reopen_outputs, reset_logging, setup_logging
from actors.logs.worker_output import forward_worker_output
from actors.logs.writer import LineWriter

__all__ = [
    "ENCODINGS",
    "FATAL",
    "LEVELS",
    "MODES",
    "OFF",
    "PANIC",
    "ROOT_LOGGER",
    "ConsoleFormatter",
    "GreenrunnerHandler",
    "JsonFormatter",
    "LineWriter",
    "RawFormatter",
    "flush_logging",
    "forward_worker_output",
    "get_logger",
    "level_name",
    "log",
    "parse_level",
    "reopen_outputs",
    "reset_logging",
    "setup_logging",
]
