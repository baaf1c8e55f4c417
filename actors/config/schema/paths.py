"""Where a value is: key paths, the per-load state, and how messages name a place.

Marshmallow only tells a field its own name, but warnings (integer
durations, ignored keys) and some errors must name the full dotted key and
its ``file:line``.  So the path being validated lives in a context variable:
every nested section pushes its key (:func:`pushed`), a field reads it with
:func:`current_path`, and :func:`warn` asks the loader's ``where`` for the
line.  Errors do not need this: the loader maps marshmallow's nested message
dict back to positions itself.
"""

from __future__ import annotations

import contextlib
import difflib
import logging
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "UNKNOWN_KEY",
    "LoadState",
    "Path",
    "PathKey",
    "current_path",
    "did_you_mean",
    "dotted",
    "pushed",
    "state",
    "unknown_key_message",
    "using",
    "warn",
]

log = logging.getLogger("greenrunner.config")

#: One step of a key path: a mapping key, or a list index.
PathKey = str | int
#: A key path from the top of the file, e.g. ``("server", "env", 1)``.
Path = tuple[PathKey, ...]

#: Every unknown-key message starts with this, so the loader points at the key, not its value.
UNKNOWN_KEY = "unknown key"


def _nowhere(_path: Path) -> str:
    return "<config>"


@dataclass
class LoadState:
    """Per-load context shared by all nested schemas.

    ``where`` turns a key path into ``file:line`` for warnings (the loader
    knows the positions; the schema does not).  ``require_version`` is
    false for :func:`config_from_dict`, where a missing version means "3".
    """

    where: Callable[[Path], str] = _nowhere
    path: list[PathKey] = field(default_factory=list)
    require_version: bool = True
    #: The top-level ``amqp`` section once loaded (it is declared before ``jobs``, and
    #: marshmallow loads fields in declaration order): the defaults of the ``amqp`` pipelines.
    amqp: Any = None


_STATE: ContextVar[LoadState | None] = ContextVar("greenrunner_config_state", default=None)


def state() -> LoadState:
    """The current load's state; a fresh one when a schema is used directly."""
    current = _STATE.get()
    if current is None:  # a schema used directly, outside load_root/load_pool
        current = LoadState()
        _STATE.set(current)
    return current


@contextlib.contextmanager
def using(load: LoadState) -> Iterator[LoadState]:
    """Make ``load`` the current state for the duration of one validation."""
    token = _STATE.set(load)
    try:
        yield load
    finally:
        _STATE.reset(token)


@contextlib.contextmanager
def pushed(*keys: PathKey) -> Iterator[None]:
    """Extend the current path by ``keys`` while a nested value is validated."""
    current = state()
    current.path.extend(keys)
    try:
        yield
    finally:
        del current.path[len(current.path) - len(keys) :]


def current_path(*more: PathKey) -> Path:
    """The key path being validated, plus ``more``."""
    return (*state().path, *more)


def dotted(path: Path) -> str:
    """``("server", "env", 1)`` → ``server.env[1]``: the form users see in messages."""
    out = ""
    for key in path:
        if isinstance(key, int):
            out += f"[{key}]"
        else:
            out += f".{key}" if out else str(key)
    return out


def warn(path: Path, message: str) -> None:
    """Log a config warning as ``file:line: dotted.key: message``."""
    log.warning("%s: %s: %s", state().where(path), dotted(path), message)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``; did you mean 'http'?`` when a close match exists, else ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def unknown_key_message(key: str, known: list[str]) -> str:
    """The error for a key no schema knows: the nearest known key, or all of them."""
    hint = did_you_mean(key, known)
    if hint:
        return f"{UNKNOWN_KEY} '{key}'{hint}"
    return f"{UNKNOWN_KEY} '{key}' (expected one of: {', '.join(sorted(known))})"
