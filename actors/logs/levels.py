"""RoadRunner's level names, the ``greenrunner`` logger tree and the one call-site helper.

Why a module of its own: the formatters, the handler and ``setup_logging`` all
rank records and name channels the same way, and call sites need these names
without pulling in any output machinery.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = [
    "ENCODINGS",
    "FATAL",
    "LEVELS",
    "MODES",
    "OFF",
    "PANIC",
    "ROOT_LOGGER",
    "channel_of",
    "get_logger",
    "level_name",
    "log",
    "parse_level",
]

#: Parent of every Greenrunner logger; channels are ``greenrunner.<channel>``.
ROOT_LOGGER = "greenrunner"

#: zap's ``panic`` sits where stdlib puts CRITICAL; ``fatal`` gets a level above it.
#: Neither exits or raises here: they only rank the record.
PANIC = logging.CRITICAL
FATAL = 60
#: Logger level used for ``mode: off``: above everything, so ``isEnabledFor`` is False.
OFF = 1000

#: RoadRunner level names (plus the stdlib spellings people type anyway).
LEVELS: dict[str, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "dpanic": PANIC,
    "panic": PANIC,
    "critical": PANIC,
    "fatal": FATAL,
}
MODES = frozenset({"development", "production", "raw", "off", "none"})
ENCODINGS = frozenset({"console", "json"})

_CHANNEL_PREFIX = ROOT_LOGGER + "."

# zap's CapitalString per bucket, lowest first; a level between two buckets takes the lower.
_BUCKETS: tuple[tuple[int, str], ...] = (
    (FATAL, "fatal"),
    (PANIC, "panic"),
    (logging.ERROR, "error"),
    (logging.WARNING, "warn"),
    (logging.INFO, "info"),
)


def parse_level(level: str | int) -> int:
    """Turn an RR level name (case-insensitive) or a stdlib number into a stdlib level.

    Unknown names raise :class:`ValueError` instead of silently logging at some
    default (zap ignores them), so a typo in ``.rr.yaml`` is caught at start-up.
    """
    if isinstance(level, int):
        return level
    try:
        return LEVELS[level.strip().lower()]
    except (KeyError, AttributeError):
        names = ", ".join(sorted({"debug", "info", "warn", "error", "panic", "fatal"}))
        raise ValueError(f"logs: unknown level {level!r} (expected one of {names})") from None


def level_name(levelno: int) -> str:
    """RR's lower-case name for a stdlib level number (between two levels: the lower one)."""
    for threshold, name in _BUCKETS:
        if levelno >= threshold:
            return name
    return "debug"


def get_logger(channel: str) -> logging.Logger:
    """The stdlib logger of one channel (``"http"`` -> ``greenrunner.http``).

    A name already under ``greenrunner`` is taken as is; an empty one is the root
    ``greenrunner`` logger.
    """
    if not channel or channel == ROOT_LOGGER:
        return logging.getLogger(ROOT_LOGGER)
    if channel.startswith(_CHANNEL_PREFIX):
        return logging.getLogger(channel)
    return logging.getLogger(_CHANNEL_PREFIX + channel)


def channel_of(name: str) -> str:
    """The channel a logger name prints as in the ``logger`` column (``greenrunner.`` cut)."""
    return name[len(_CHANNEL_PREFIX) :] if name.startswith(_CHANNEL_PREFIX) else name


def log(logger: logging.Logger, level: int | str, msg: str, /, **fields: Any) -> None:
    """Log ``msg`` with structured ``fields`` (``extra={"fields": ...}``) on a stdlib logger.

    The level check comes first, so a disabled line builds no dict.
    """
    levelno = parse_level(level)
    if logger.isEnabledFor(levelno):
        logger.log(levelno, msg, extra={"fields": fields} if fields else None, stacklevel=2)
