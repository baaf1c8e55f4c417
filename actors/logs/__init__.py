"""Logging shaped like RoadRunner's ``logs`` plugin, built on the stdlib :mod:`logging`.

Why stdlib and not a zap look-alike: an embedding application, pykka and any
library already speak :mod:`logging`, so Greenrunner's records stay ordinary
:class:`logging.LogRecord` objects under one ``greenrunner`` logger tree
(``greenrunner.server``, ``greenrunner.http``, ...).  What RoadRunner users see
is reproduced by the formatters and handlers installed by :func:`setup_logging`:

* ``mode``: ``development`` (console, colours on a TTY, caller), ``production``,
  ``raw`` (the message only: worker output passes through untouched), ``off`` /
  ``none`` (nothing);
* ``encoding``: ``console`` (RR's tab-separated line) or ``json`` (one object a line);
* ``level``: RR names (debug, info, warn, error, panic, fatal);
* ``output`` / ``err_output``: ``stderr``, ``stdout`` or file paths (appended to);
* ``channels.<name>``: per-channel overrides of level, mode, encoding and output.

Structured fields travel in ``extra={"fields": {...}}``; :class:`ChannelLogger`
(``get_channel_logger("pool").info("worker started", pid=1)``) builds that for
you and costs one ``isEnabledFor`` call when the level is off.

Logging must never take the server down: a closed or broken output (EPIPE) is
reported once on ``err_output`` and otherwise ignored.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

__all__ = [
    "ENCODINGS",
    "FATAL",
    "LEVELS",
    "MODES",
    "OFF",
    "PANIC",
    "ROOT_LOGGER",
    "ChannelLogger",
    "ConsoleFormatter",
    "GreenrunnerHandler",
    "JsonFormatter",
    "RawFormatter",
    "forward_worker_output",
    "get_channel_logger",
    "get_logger",
    "level_name",
    "log",
    "parse_level",
    "reset_logging",
    "setup_logging",
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

_STDIO = ("stderr", "stdout")
#: zap pads the logger name to 12 columns in console encoding.
_NAME_WIDTH = 12
_CHANNEL_PREFIX = ROOT_LOGGER + "."

# zap's CapitalString per bucket, lowest first; a level between two buckets takes the lower.
_BUCKETS: tuple[tuple[int, str], ...] = (
    (FATAL, "fatal"),
    (PANIC, "panic"),
    (logging.ERROR, "error"),
    (logging.WARNING, "warn"),
    (logging.INFO, "info"),
)
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


def _channel_of(name: str) -> str:
    return name[len(_CHANNEL_PREFIX) :] if name.startswith(_CHANNEL_PREFIX) else name


# --------------------------------------------------------------------------- call sites


class ChannelLogger:
    """A channel's logger taking structured fields as keyword arguments.

    ``log.info("worker started", pid=1, cmd="php worker.php")`` reads better at
    call sites than ``extra={"fields": {...}}``, and the level check comes first,
    so a disabled debug line costs one cached ``isEnabledFor`` and no dict.
    ``exc_info`` and ``stack_info`` are the stdlib keywords, not fields.
    """

    __slots__ = ("_bound", "_logger")

    def __init__(self, logger: logging.Logger | str, **bound: Any) -> None:
        self._logger = get_logger(logger) if isinstance(logger, str) else logger
        self._bound = bound

    @property
    def logger(self) -> logging.Logger:
        """The underlying stdlib logger (for handlers, levels, or code that wants one)."""
        return self._logger

    @property
    def channel(self) -> str:
        """The channel name as printed in the ``logger`` column."""
        return _channel_of(self._logger.name)

    def with_fields(self, **fields: Any) -> ChannelLogger:
        """A logger adding ``fields`` to every record (zap's ``With``), e.g. a worker's pid."""
        return ChannelLogger(self._logger, **{**self._bound, **fields})

    def is_enabled_for(self, level: int | str) -> bool:
        """Whether a record at ``level`` would be handled (to skip building costly fields)."""
        return self._logger.isEnabledFor(parse_level(level))

    def debug(self, msg: str, /, *, exc_info: Any = None, **fields: Any) -> None:
        """Log at debug."""
        if self._logger.isEnabledFor(logging.DEBUG):
            self._emit(logging.DEBUG, msg, exc_info, fields)

    def info(self, msg: str, /, *, exc_info: Any = None, **fields: Any) -> None:
        """Log at info."""
        if self._logger.isEnabledFor(logging.INFO):
            self._emit(logging.INFO, msg, exc_info, fields)

    def warn(self, msg: str, /, *, exc_info: Any = None, **fields: Any) -> None:
        """Log at warn (RR's spelling)."""
        if self._logger.isEnabledFor(logging.WARNING):
            self._emit(logging.WARNING, msg, exc_info, fields)

    warning = warn

    def error(self, msg: str, /, *, exc_info: Any = None, **fields: Any) -> None:
        """Log at error."""
        if self._logger.isEnabledFor(logging.ERROR):
            self._emit(logging.ERROR, msg, exc_info, fields)

    def exception(self, msg: str, /, **fields: Any) -> None:
        """Log at error with the exception being handled (``error`` / ``stacktrace`` keys)."""
        if self._logger.isEnabledFor(logging.ERROR):
            self._emit(logging.ERROR, msg, True, fields)

    def log(self, level: int | str, msg: str, /, *, exc_info: Any = None, **fields: Any) -> None:
        """Log at any level, given as a stdlib number or an RR name."""
        levelno = parse_level(level)
        if self._logger.isEnabledFor(levelno):
            self._emit(levelno, msg, exc_info, fields)

    def _emit(self, levelno: int, msg: str, exc_info: Any, fields: dict[str, Any]) -> None:
        if self._bound:
            fields = {**self._bound, **fields}
        # stacklevel 3: logger.log <- _emit <- info() <- the caller we want as "caller".
        self._logger.log(
            levelno,
            msg,
            exc_info=exc_info,
            extra={"fields": fields} if fields else None,
            stacklevel=3,
        )


def get_channel_logger(channel: str, **bound: Any) -> ChannelLogger:
    """A :class:`ChannelLogger` for ``channel``, optionally with bound fields."""
    return ChannelLogger(get_logger(channel), **bound)


def log(
    logger: logging.Logger | ChannelLogger, level: int | str, msg: str, /, **fields: Any
) -> None:
    """Log ``msg`` with structured ``fields`` on a plain stdlib logger (or a ChannelLogger)."""
    if isinstance(logger, ChannelLogger):
        logger = logger.logger
    levelno = parse_level(level)
    if logger.isEnabledFor(levelno):
        logger.log(levelno, msg, extra={"fields": fields} if fields else None, stacklevel=2)


_SERVER = get_logger("server")


def forward_worker_output(pid: int, line: bytes | str) -> None:
    """Log one line a worker wrote on stderr, as RoadRunner does: INFO on ``server``.

    The line is kept whole (no truncation) and, in raw mode, printed as the
    worker wrote it; one trailing newline is dropped because every output line
    gets its own.  Undecodable bytes become ``\\xNN`` escapes.  This runs on the
    greenlet draining the worker's pipe, so it never raises: a failure here must
    not stop the drain (a full pipe would block the worker).
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


# --------------------------------------------------------------------------- formatters


_time_cache: tuple[int, str, str] = (-1, "", "")


def _iso_time(created: float) -> str:
    """zap's ISO8601TimeEncoder: local time, milliseconds, numeric offset.

    The strftime part changes once a second, so it is cached (the tuple is
    replaced atomically, which keeps this safe across threads).
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
        return _iso_time(record.created)


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
        channel = _channel_of(record.name).ljust(_NAME_WIDTH)
        if colored:
            level = f"{_LEVEL_COLOURS[name]}{level}{_RESET}"
            channel = f"{_NAME_COLOUR}{channel}{_RESET}"
        parts = [_iso_time(record.created), level, channel]
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
            "logger": _channel_of(record.name),
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


# --------------------------------------------------------------------------- outputs


class _Sink:
    """One output (stderr, stdout or a file), shared by every handler writing to it.

    stderr/stdout are looked up on each write, so a replaced ``sys.stderr``
    (pytest, a daemonising embedder) is honoured.  One lock per output keeps a
    line whole when two handlers share a file.  It is reentrant because under
    gevent two greenlets share a thread: a plain lock would deadlock the thread
    if a cooperative stream ever yielded mid-write.
    """

    def __init__(self, target: str) -> None:
        self.target = target
        self._lock = threading.RLock()
        self._file: TextIO | None = None
        self._tty: tuple[object, bool] = (None, False)
        if target not in _STDIO:
            path = target[len("file://") :] if target.startswith("file://") else target
            self._file = open(path, "a", encoding="utf-8", errors="backslashreplace")  # noqa: SIM115

    def stream(self) -> TextIO | None:
        """Where to write now (None when stdio is detached, e.g. under pythonw)."""
        if self._file is not None:
            return self._file
        return sys.stderr if self.target == "stderr" else sys.stdout

    def isatty(self) -> bool:
        """Whether the current stream is a terminal (cached per stream object)."""
        stream = self.stream()
        cached = self._tty
        if cached[0] is stream:
            return cached[1]
        try:
            tty = bool(stream is not None and stream.isatty())
        except Exception:
            tty = False
        self._tty = (stream, tty)
        return tty

    def write(self, text: str) -> None:
        """Write and flush one whole line; a stream that rejects a character gets escapes."""
        stream = self.stream()
        if stream is None:
            return
        with self._lock:
            try:
                stream.write(text)
            except UnicodeEncodeError:
                encoding = getattr(stream, "encoding", None) or "utf-8"
                stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
            stream.flush()

    def close(self) -> None:
        """Close a file output (stdio is not ours to close)."""
        if self._file is not None:
            # Closing a broken file must not fail a reload.
            with self._lock, contextlib.suppress(Exception):
                self._file.close()


class GreenrunnerHandler(logging.Handler):
    """Formats a record once and writes it to each of its outputs.

    A failing output (closed, EPIPE, disk full) is skipped for that record and
    reported once on ``err_output``; the other outputs still get the line, and
    nothing propagates to the code that logged.
    """

    def __init__(
        self,
        formatter: logging.Formatter,
        sinks: Iterable[_Sink],
        err_sinks: Iterable[_Sink] = (),
    ) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self._sinks = tuple(sinks)
        self._err_sinks = tuple(err_sinks)
        self._colors = isinstance(formatter, ConsoleFormatter) and formatter.colors
        self._reported = False

    @property
    def outputs(self) -> tuple[str, ...]:
        """The configured outputs, as written in the config."""
        return tuple(sink.target for sink in self._sinks)

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record to every output; never raises."""
        try:
            text = self.format(record) + "\n"
        except Exception:
            self.handleError(record)
            return
        colored: str | None = None
        for sink in self._sinks:
            try:
                if self._colors and sink.isatty():
                    if colored is None:
                        assert isinstance(self.formatter, ConsoleFormatter)
                        colored = self.formatter.format_colored(record) + "\n"
                    sink.write(colored)
                else:
                    sink.write(text)
            except Exception as exc:
                self._report(sink.target, exc)

    def handleError(self, record: logging.LogRecord) -> None:
        """Quiet replacement of the stdlib's traceback-on-stderr (which could fail too)."""
        self._report("formatter", sys.exc_info()[1])

    def _report(self, where: str, exc: BaseException | None) -> None:
        if self._reported:
            return
        self._reported = True
        note = f"greenrunner logs: cannot write to {where}: {exc!r} (further failures are silent)\n"
        for sink in self._err_sinks:
            with contextlib.suppress(Exception):  # err_output may be the broken stream itself
                sink.write(note)


# --------------------------------------------------------------------------- setup


@dataclass(frozen=True)
class _Spec:
    """One resolved logger configuration (global or channel)."""

    level: int
    mode: str
    encoding: str
    outputs: tuple[str, ...]

    @property
    def off(self) -> bool:
        return self.mode in ("off", "none")

    def formatter(self) -> logging.Formatter:
        dev = self.mode == "development"
        if self.mode == "raw":
            return RawFormatter()
        if self.encoding == "json":
            return JsonFormatter(caller=dev)
        return ConsoleFormatter(caller=dev, colors=dev)

    def same_output(self, other: _Spec) -> bool:
        return (self.mode, self.encoding, self.outputs) == (
            other.mode,
            other.encoding,
            other.outputs,
        )


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _outputs(value: Any, default: tuple[str, ...]) -> tuple[str, ...]:
    if value is None or value == "" or value == []:
        return default
    items = [value] if isinstance(value, str | os.PathLike) else list(value)
    outs = tuple(os.fspath(v).strip() for v in items if v is not None and os.fspath(v).strip())
    return outs or default


def _mode(value: Any, default: str) -> str:
    mode = str(value).strip().lower() if value else default
    if mode not in MODES:
        raise ValueError(
            f"logs: unknown mode {value!r} (expected one of {', '.join(sorted(MODES))})"
        )
    return mode


def _encoding(value: Any, mode: str) -> str:
    if not value:
        # zap's per-mode default, for configs that leave encoding unset.
        return "json" if mode == "production" else "console"
    encoding = str(value).strip().lower()
    if encoding not in ENCODINGS:
        raise ValueError(f"logs: unknown encoding {value!r} (expected console or json)")
    return encoding


def _level(value: Any, mode: str) -> int:
    if value is None or value == "":
        return logging.DEBUG if mode == "development" else logging.INFO
    return parse_level(value)


def _resolve(cfg: Any) -> tuple[_Spec, tuple[str, ...], dict[str, _Spec]]:
    mode = _mode(_get(cfg, "mode"), "production")
    glob = _Spec(
        level=_level(_get(cfg, "level"), mode),
        mode=mode,
        encoding=_encoding(_get(cfg, "encoding"), mode),
        outputs=_outputs(_get(cfg, "output"), ("stderr",)),
    )
    err_outputs = _outputs(_get(cfg, "err_output"), ("stderr",))
    channels: dict[str, _Spec] = {}
    for name, ch in (_get(cfg, "channels") or {}).items():
        ch_mode = _mode(_get(ch, "mode"), glob.mode)
        ch_level = _get(ch, "level")
        ch_encoding = _get(ch, "encoding")
        channels[str(name)] = _Spec(
            level=parse_level(ch_level) if ch_level not in (None, "") else glob.level,
            mode=ch_mode,
            encoding=_encoding(ch_encoding, ch_mode) if ch_encoding else glob.encoding,
            outputs=_outputs(_get(ch, "output"), glob.outputs),
        )
    return glob, err_outputs, channels


class _State:
    """What the last :func:`setup_logging` installed, so the next one can undo exactly that."""

    def __init__(self) -> None:
        self.handlers: list[tuple[logging.Logger, logging.Handler]] = []
        self.loggers: list[logging.Logger] = []
        self.sinks: list[_Sink] = []


_state = _State()
_setup_lock = threading.Lock()


def setup_logging(cfg: Any = None) -> None:
    """Install Greenrunner's handlers from a ``logs`` config (idempotent).

    ``cfg`` is anything with ``level``, ``mode``, ``encoding``, ``output``,
    ``err_output`` and ``channels`` attributes (or a mapping of them); missing
    or empty ones take RR's defaults for the mode.  Calling it again replaces
    what the previous call installed, so a reload never doubles lines.  Files
    are opened before anything is swapped: a bad path raises ``OSError`` (a bad
    name ``ValueError``) and leaves the previous setup working.

    Only the ``greenrunner`` tree is touched.  It stops propagating to the root
    logger, so an embedding application's root handlers do not print our lines
    a second time; the root logger's own handlers are never changed.
    """
    glob, err_outputs, channels = _resolve(cfg)
    sinks: dict[str, _Sink] = {}

    def sink(target: str) -> _Sink:
        if target not in sinks:
            sinks[target] = _Sink(target)
        return sinks[target]

    try:
        err_sinks = [sink(t) for t in err_outputs]

        def handler(spec: _Spec) -> logging.Handler:
            if spec.off:
                return logging.NullHandler()  # keeps the stdlib's lastResort quiet too
            return GreenrunnerHandler(spec.formatter(), [sink(t) for t in spec.outputs], err_sinks)

        plan: list[tuple[logging.Logger, int, bool, logging.Handler | None]] = [
            (get_logger(ROOT_LOGGER), OFF if glob.off else glob.level, False, handler(glob))
        ]
        for name, spec in channels.items():
            logger = get_logger(name)
            if spec.off:
                plan.append((logger, OFF, False, handler(spec)))
            elif not glob.off and spec.same_output(glob):
                plan.append((logger, spec.level, True, None))  # only the level differs
            else:
                plan.append((logger, spec.level, False, handler(spec)))
    except BaseException:
        for s in sinks.values():
            s.close()
        raise

    with _setup_lock:
        old_sinks = _teardown()
        for logger, level, propagate, h in plan:
            logger.setLevel(level)
            logger.propagate = propagate
            _state.loggers.append(logger)
            if h is not None:
                logger.addHandler(h)
                _state.handlers.append((logger, h))
        _state.sinks = list(sinks.values())
    for s in old_sinks:
        s.close()


def _teardown() -> list[_Sink]:
    for logger, h in _state.handlers:
        logger.removeHandler(h)
    for logger in _state.loggers:
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
    old = _state.sinks
    _state.handlers, _state.loggers, _state.sinks = [], [], []
    return old


def reset_logging() -> None:
    """Undo :func:`setup_logging`: the ``greenrunner`` tree goes back to stdlib defaults.

    For tests and for embedders handing logging back to their own configuration;
    handlers someone else attached to ``greenrunner`` loggers are left alone.
    """
    with _setup_lock:
        old = _teardown()
    for s in old:
        s.close()
