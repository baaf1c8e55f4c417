"""RoadRunner's three line shapes: console, JSON and raw, as :class:`logging.Formatter` s.

Formatting runs on the thread that logs (the gevent hub, for the server):
it must not raise, whatever a caller put in a record, because a logging
failure must never take a request down.
"""

from __future__ import annotations

import json
import logging
import os
import time
import traceback
from collections.abc import Mapping
from typing import Any

from actors.logs.levels import channel_of, level_name

__all__ = ["ConsoleFormatter", "JsonFormatter", "RawFormatter"]

#: zap pads the logger name to 12 columns in console encoding.
_NAME_WIDTH = 12

# RoadRunner's ColoredLevelEncoder / ColoredNameEncoder (fatih/color "Hi" colours).
_LEVEL_COLOURS = {
    "debug": "\x1b[97m",
    "info": "\x1b[96m",
    "warn": "\x1b[93m",
    "error": "\x1b[91m",
    "panic": "\x1b[95m",
    "fatal": "\x1b[95m",
}
_NAME_COLOUR = "\x1b[92m"
_RESET = "\x1b[0m"

_time_cache: tuple[int, str, str] = (-1, "", "")


def iso_time(created: float) -> str:
    """zap's ISO8601TimeEncoder: local time, milliseconds, numeric offset.

    The strftime part changes once a second, so it is cached (the tuple is
    replaced atomically, which keeps this safe across threads: the off-hub
    writer formats its "lines dropped" notice with it).
    """
    global _time_cache
    sec = int(created)
    cached = _time_cache
    if cached[0] != sec:
        lt = time.localtime(sec)
        cached = (sec, time.strftime("%Y-%m-%dT%H:%M:%S", lt), time.strftime("%z", lt))
        _time_cache = cached
    ms = min(int((created - sec) * 1000), 999)
    return f"{cached[1]}.{ms:03d}{cached[2]}"


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "backslashreplace")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)


def _dumps(obj: dict[str, Any], separators: tuple[str, str]) -> str:
    """JSON-encode, falling back to repr() of each value rather than losing the record."""
    try:
        return json.dumps(
            obj, ensure_ascii=False, separators=separators, default=_json_default, allow_nan=False
        )
    except (TypeError, ValueError, RecursionError):
        safe = {str(k): v if isinstance(v, str | int | bool) else repr(v) for k, v in obj.items()}
        return json.dumps(safe, ensure_ascii=False, separators=separators)


class _Formatter(logging.Formatter):
    """Shared pieces: message, fields, caller, exception text, each failure-proof."""

    def __init__(self, *, caller: bool = False) -> None:
        super().__init__()
        self.caller = caller

    @staticmethod
    def message(record: logging.LogRecord) -> str:
        """``record.getMessage()``, or something readable if its %-args do not fit."""
        try:
            return record.getMessage()
        except Exception:
            return f"{record.msg!s} {record.args!r}"

    @staticmethod
    def fields(record: logging.LogRecord) -> dict[str, Any]:
        """The record's structured fields (a copy; the record is shared by handlers)."""
        fields = getattr(record, "fields", None)
        if not fields:
            return {}
        if isinstance(fields, Mapping):
            return {str(k): v for k, v in fields.items()}
        return {"fields": fields}

    @staticmethod
    def caller_of(record: logging.LogRecord) -> str:
        """zap's ShortCallerEncoder: ``dir/file.py:line``."""
        path = record.pathname or record.filename
        parent = os.path.basename(os.path.dirname(path))
        short = f"{parent}/{os.path.basename(path)}" if parent else os.path.basename(path)
        return f"{short}:{record.lineno}"

    @staticmethod
    def error_of(record: logging.LogRecord) -> tuple[str | None, str | None]:
        """(``error``, ``stacktrace``) texts for the record's exception / stack info."""
        error = stack = None
        exc_info = record.exc_info
        if exc_info and exc_info[0] is not None:
            exc = exc_info[1]
            error = str(exc) or type(exc).__name__
            stack = "".join(traceback.format_exception(*exc_info)).rstrip("\n")
        if record.stack_info:
            stack = f"{stack}\n{record.stack_info}" if stack else record.stack_info
        return error, stack

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """RR's console timestamp (the stdlib hook, kept for code that calls it)."""
        return iso_time(record.created)


class ConsoleFormatter(_Formatter):
    """RR's console line: ``time\\tLEVEL\\tname        \\t[caller\\t]message[\\t{fields}]``.

    Fields are JSON with zap's spaced separators; an exception adds an ``error``
    field and its traceback on the following lines, as zap's console encoder does.
    """

    def __init__(self, *, caller: bool = False, colors: bool = False) -> None:
        super().__init__(caller=caller)
        #: Whether colours are wanted; the handler applies them only on a TTY.
        self.colors = colors

    def format(self, record: logging.LogRecord) -> str:
        """The plain (uncoloured) line."""
        return self._line(record, colored=False)

    def format_colored(self, record: logging.LogRecord) -> str:
        """The line with RR's level and name colours, for terminals."""
        return self._line(record, colored=True)

    def _line(self, record: logging.LogRecord, *, colored: bool) -> str:
        name = level_name(record.levelno)
        level = name.upper()
        channel = channel_of(record.name).ljust(_NAME_WIDTH)
        if colored:
            level = f"{_LEVEL_COLOURS[name]}{level}{_RESET}"
            channel = f"{_NAME_COLOUR}{channel}{_RESET}"
        parts = [iso_time(record.created), level, channel]
        if self.caller:
            parts.append(self.caller_of(record))
        parts.append(self.message(record))
        fields = self.fields(record)
        error, stack = self.error_of(record)
        if error is not None:
            fields.setdefault("error", error)
        if fields:
            parts.append(_dumps(fields, (", ", ": ")))
        line = "\t".join(parts)
        return f"{line}\n{stack}" if stack else line


class JsonFormatter(_Formatter):
    """zap's production JSON: ``{"level","ts","logger",["caller"],"msg",...fields}``.

    Fields are flattened into the object; one named like a reserved key is kept
    as ``fields.<name>`` rather than overwriting it.  Exceptions add ``error``
    and ``stacktrace``.
    """

    def format(self, record: logging.LogRecord) -> str:
        """One JSON object, no newline (the handler adds it)."""
        out: dict[str, Any] = {
            "level": level_name(record.levelno),
            "ts": record.created,
            "logger": channel_of(record.name),
        }
        if self.caller:
            out["caller"] = self.caller_of(record)
        out["msg"] = self.message(record)
        error, stack = self.error_of(record)
        if error is not None:
            out["error"] = error
        if stack is not None:
            out["stacktrace"] = stack
        for key, value in self.fields(record).items():
            out[f"fields.{key}" if key in out else key] = value
        return _dumps(out, (",", ":"))


class RawFormatter(_Formatter):
    """The message alone (RR ``mode: raw``): worker output printed as the worker wrote it.

    A traceback, if any, still follows on the next lines: dropping it would hide
    the one thing an operator needs.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The bare message."""
        msg = self.message(record)
        _, stack = self.error_of(record)
        return f"{msg}\n{stack}" if stack else msg
