"""``setup_logging``: the ``logs`` config turned into handlers on the ``greenrunner`` tree.

What RoadRunner users configure is reproduced here:

* ``mode``: ``development`` (console, colours on a TTY, caller), ``production``,
  ``raw`` (the message only), ``off`` / ``none`` (nothing);
* ``encoding``: ``console`` or ``json``; ``level``: RR names;
* ``output`` / ``err_output``: ``stderr``, ``stdout`` or file paths (appended to);
* ``channels.<name>``: per-channel overrides of level, mode, encoding and output.

Only the ``greenrunner`` tree is touched; the root logger never is.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from actors.config.model import LogChannelConfig, LogsConfig
from actors.logs.formatters import ConsoleFormatter, JsonFormatter, RawFormatter
from actors.logs.handler import GreenrunnerHandler
from actors.logs.levels import ENCODINGS, MODES, OFF, ROOT_LOGGER, get_logger, parse_level
from actors.logs.outputs import ErrorReporter, Output, notice_formatter
from actors.logs.writer import flush_all

__all__ = ["CLOSE_TIMEOUT", "flush_logging", "reset_logging", "setup_logging"]

#: Longest wait, on a reload or reset, for the previous outputs' queued lines.
CLOSE_TIMEOUT = 2.0


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


def _outputs(value: list[str] | None, default: tuple[str, ...]) -> tuple[str, ...]:
    outs = tuple(v.strip() for v in value or () if v and v.strip())
    return outs or default


def _mode(value: str | None, default: str) -> str:
    mode = value.strip().lower() if value else default
    if mode not in MODES:
        raise ValueError(
            f"logs: unknown mode {value!r} (expected one of {', '.join(sorted(MODES))})"
        )
    return mode


def _encoding(value: str | None, mode: str) -> str:
    if not value:
        # zap's per-mode default, for configs that leave encoding unset.
        return "json" if mode == "production" else "console"
    encoding = value.strip().lower()
    if encoding not in ENCODINGS:
        raise ValueError(f"logs: unknown encoding {value!r} (expected console or json)")
    return encoding


def _level(value: str | None, mode: str) -> int:
    if not value:
        return logging.DEBUG if mode == "development" else logging.INFO
    return parse_level(value)


def _channel(ch: LogChannelConfig, glob: _Spec) -> _Spec:
    mode = _mode(ch.mode, glob.mode)
    return _Spec(
        level=parse_level(ch.level) if ch.level else glob.level,
        mode=mode,
        encoding=_encoding(ch.encoding, mode) if ch.encoding else glob.encoding,
        outputs=_outputs(ch.output, glob.outputs),
    )


def _resolve(cfg: LogsConfig) -> tuple[_Spec, tuple[str, ...], dict[str, _Spec]]:
    mode = _mode(cfg.mode, "production")
    glob = _Spec(
        level=_level(cfg.level, mode),
        mode=mode,
        encoding=_encoding(cfg.encoding, mode),
        outputs=_outputs(cfg.output, ("stderr",)),
    )
    err_outputs = _outputs(cfg.err_output, ("stderr",))
    channels = {str(name): _channel(ch, glob) for name, ch in (cfg.channels or {}).items()}
    return glob, err_outputs, channels


class _State:
    """What the last :func:`setup_logging` installed, so the next one can undo exactly that."""

    def __init__(self) -> None:
        self.handlers: list[tuple[logging.Logger, logging.Handler]] = []
        self.loggers: list[logging.Logger] = []
        self.outputs: list[Output] = []
        #: The config of the last :func:`setup_logging`, for :func:`reopen_outputs`.
        self.cfg: LogsConfig | None = None


_state = _State()
_setup_lock = threading.Lock()


def setup_logging(cfg: LogsConfig | None = None) -> None:
    """Install Greenrunner's handlers from a ``logs`` config (idempotent).

    Empty values take RR's defaults for the mode.  Calling it again replaces
    what the previous call installed, so a reload never doubles lines.  Files
    are opened before anything is swapped: a bad path raises ``OSError`` (a bad
    name ``ValueError``) and leaves the previous setup working.

    The ``greenrunner`` tree stops propagating to the root logger, so an
    embedding application's root handlers do not print our lines a second
    time; the root logger's own handlers are never changed.
    """
    glob, err_outputs, channels = _resolve(cfg or LogsConfig())
    reporter = ErrorReporter()
    outputs: dict[str, Output] = {}

    def output(target: str, spec: _Spec | None = None) -> Output:
        if target not in outputs:
            outputs[target] = Output(target, reporter.report)
            if spec is not None:  # the first logger writing here shapes its drop notice
                outputs[target].writer.notice = notice_formatter(spec.formatter())
        return outputs[target]

    try:

        def handler(spec: _Spec) -> logging.Handler:
            if spec.off:
                return logging.NullHandler()  # keeps the stdlib's lastResort quiet too
            targets = [output(t, spec) for t in spec.outputs]
            return GreenrunnerHandler(spec.formatter(), targets, reporter)

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
        reporter.outputs = [output(t) for t in err_outputs]
    except BaseException:
        _close(list(outputs.values()), 0)
        raise

    with _setup_lock:
        old = _teardown()
        for logger, level, propagate, h in plan:
            logger.setLevel(level)
            logger.propagate = propagate
            _state.loggers.append(logger)
            if h is not None:
                logger.addHandler(h)
                _state.handlers.append((logger, h))
        _state.outputs = list(outputs.values())
        _state.cfg = cfg
    _close(old, CLOSE_TIMEOUT)


def reopen_outputs() -> None:
    """Open the log files again by path (``SIGUSR1``, after logrotate moved them away).

    The same setup is built anew: new files are opened (created) first, lines
    queued for the old ones are written there before those are closed, so a rotation
    loses no line. Without a previous :func:`setup_logging` it does nothing.
    """
    with _setup_lock:
        configured = bool(_state.loggers)
        cfg = _state.cfg
    if configured:
        setup_logging(cfg)


def _teardown() -> list[Output]:
    for logger, h in _state.handlers:
        logger.removeHandler(h)
    for logger in _state.loggers:
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
    old = _state.outputs
    _state.handlers, _state.loggers, _state.outputs = [], [], []
    return old


def _close(outputs: list[Output], timeout: float) -> None:
    """Close outputs, all within one ``timeout`` (their threads finish in the background)."""
    deadline = time.monotonic() + timeout
    for output in outputs:
        output.close(max(0.0, deadline - time.monotonic()))


def reset_logging() -> None:
    """Undo :func:`setup_logging`: the ``greenrunner`` tree goes back to stdlib defaults.

    For tests and for embedders handing logging back to their own
    configuration; queued lines are written first (waiting at most
    :data:`CLOSE_TIMEOUT` s).  Handlers someone else attached to
    ``greenrunner`` loggers are left alone.
    """
    with _setup_lock:
        old = _teardown()
    _close(old, CLOSE_TIMEOUT)


def flush_logging(timeout: float = 5.0) -> bool:
    """Wait until every line logged so far is written (at most ``timeout`` s).

    Lines are written by background threads; call this where a caller needs
    them on disk now: before reading a log file in a test, before
    ``os._exit``.  Interpreter exit does it by itself.  Blocks the calling OS
    thread (the hub, if called there).  False when some output is still blocked.
    """
    return flush_all(timeout)
