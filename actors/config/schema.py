"""Where every config key is validated (marshmallow schemas).

One schema per YAML section; each field says what it accepts, its default
and its "0 means default" rule, and ``post_load`` turns the section into the
dataclass from :mod:`config.model`.  The schemas see plain data (dicts,
lists, scalars) that :mod:`config.loader` produced from the YAML after env
expansion, includes and ``-o`` overrides; they raise
:class:`marshmallow.ValidationError` whose nested message dict mirrors the
data, which the loader maps back to ``file:line:column``.

Typing is deliberately a little weak, like RoadRunner's decoder: ``"4"``
is a fine ``num_workers`` (values produced by ``${VAR}`` are strings) and
``1000`` a fine ``user``.  What cannot be meant (``"four"``, a list where a
map belongs, ``yes please`` for a bool) is an error that says what was
expected.

Warnings (integer durations, ignored sections) need the dotted key path and
the line while marshmallow only tells a field its own name, so the current
path lives in a context variable pushed by every nested section
(:class:`Section`) and read by :func:`current_path`.
"""

from __future__ import annotations

import contextlib
import difflib
import logging
import re
import shlex
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ClassVar

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validates_schema,
)

from actors.config.durations import parse_duration
from actors.config.errors import ConfigError, describe
from actors.config.model import (
    DEFAULT_RPC_LISTEN,
    MAX_WORKERS,
    Config,
    DynamicAllocatorConfig,
    HttpConfig,
    LogChannelConfig,
    LogsConfig,
    OnInitConfig,
    PoolConfig,
    RpcConfig,
    ServerConfig,
    SupervisorConfig,
    UploadsConfig,
    cpu_count,
)

__all__ = [
    "IGNORED_SECTIONS",
    "SUPPORTED_SECTIONS",
    "UNKNOWN_KEY",
    "ConfigSchema",
    "LoadState",
    "PoolSchema",
    "current_path",
    "describe",
    "load_pool",
    "load_root",
    "validate_listen",
    "validate_relay",
]

log = logging.getLogger("greenrunner.config")

PathKey = str | int
Path = tuple[PathKey, ...]

#: Every unknown-key message starts with this, so the loader points at the key, not its value.
UNKNOWN_KEY = "unknown key"

#: Top-level sections Greenrunner reads.
SUPPORTED_SECTIONS = ("version", "include", "server", "logs", "http", "rpc")

#: RoadRunner plugin sections that are accepted (a config shared with RR must load) and ignored.
IGNORED_SECTIONS = frozenset(
    {
        "amqp", "app", "beanstalk", "boltdb", "broadcast", "centrifuge", "config", "dotenv",
        "endure", "envfile", "fileserver", "gcp_pubsub", "google_pub_sub", "grpc", "headers",
        "informer", "jobs", "kafka", "kv", "lock", "memcached", "memory", "metrics", "nats",
        "otel", "pubsub", "redis", "reload", "resetter", "service", "sqs", "static", "status",
        "tcp", "temporal", "websockets",
    }
)  # fmt: skip

#: ``http.*`` subsections RoadRunner knows and Greenrunner does not implement yet.
HTTP_UNSUPPORTED = ("ssl", "http2", "fcgi", "http3", "headers", "static", "trusted_subnets")

#: Middleware names RoadRunner ships; others only get a warning, as in RR.
KNOWN_MIDDLEWARE = frozenset(
    {"headers", "gzip", "static", "sendfile", "http_metrics", "cache", "otel", "proxy_ip_parser"}
)

_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
_INT_TEXT = re.compile(r"[+-]?\d+")
_ENV_KEY = re.compile(r"[A-Za-z0-9._-]+")


# -- load state: the current key path, and how to name a line in warnings --------------------


@dataclass
class LoadState:
    """Per-load context shared by all nested schemas.

    ``where`` turns a key path into ``file:line`` for warnings (the loader
    knows the positions; the schema does not).  ``require_version`` is
    false for :func:`config_from_dict`, where a missing version means "3".
    """

    where: Callable[[Path], str] = lambda _path: "<config>"
    path: list[PathKey] = field(default_factory=list)
    require_version: bool = True


_STATE: ContextVar[LoadState | None] = ContextVar("greenrunner_config_state", default=None)


def _state() -> LoadState:
    state = _STATE.get()
    if state is None:  # a schema used directly, outside load_root/load_pool
        state = LoadState()
        _STATE.set(state)
    return state


@contextlib.contextmanager
def _using(state: LoadState) -> Iterator[LoadState]:
    token = _STATE.set(state)
    try:
        yield state
    finally:
        _STATE.reset(token)


@contextlib.contextmanager
def _pushed(*keys: PathKey) -> Iterator[None]:
    state = _state()
    state.path.extend(keys)
    try:
        yield
    finally:
        del state.path[len(state.path) - len(keys) :]


def current_path(*more: PathKey) -> Path:
    """The key path being validated, plus ``more``."""
    return (*_state().path, *more)


def dotted(path: Path) -> str:
    """``("server", "env", 1)`` → ``server.env[1]``: the form users see in messages."""
    out = ""
    for key in path:
        if isinstance(key, int):
            out += f"[{key}]"
        else:
            out += f".{key}" if out else str(key)
    return out


def _warn(path: Path, message: str) -> None:
    log.warning("%s: %s: %s", _state().where(path), dotted(path), message)


# -- messages -------------------------------------------------------------------------------


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``; did you mean 'http'?`` when a close match exists, else ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _unknown_key_message(key: str, known: list[str]) -> str:
    hint = did_you_mean(key, known)
    if hint:
        return f"{UNKNOWN_KEY} '{key}'{hint}"
    return f"{UNKNOWN_KEY} '{key}' (expected one of: {', '.join(sorted(known))})"


# -- scalar fields --------------------------------------------------------------------------


class _Field(fields.Field):
    """Base for Greenrunner fields: one clear message for a null value.

    ``keep_null``: a ``key:`` with no value is normally "use the default"
    (that is how YAML spells an empty value), but for a few keys, such as
    ``command``, an empty value is the mistake and must be reported.
    """

    keep_null = False

    def __init__(
        self,
        *,
        null_message: str = "a value is required here",
        required_message: str | None = None,
        keep_null: bool | None = None,
        **kwargs: Any,
    ) -> None:
        messages = {"null": null_message, "required": required_message}
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"].update({k: v for k, v in messages.items() if v})
        super().__init__(**kwargs)
        if keep_null is not None:
            self.keep_null = keep_null

    def path(self) -> Path:
        return current_path(self.name)


def to_int(value: object) -> int:
    """Weakly-typed integer: ints, whole floats and digit strings (from ``${VAR}``)."""
    if isinstance(value, bool):
        raise ValidationError(f"expected an integer, got {describe(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
        return int(value.strip())
    raise ValidationError(f"expected an integer, got {describe(value)}")


class Int(_Field):
    """An integer with optional bounds; ``zero`` replaces 0 (RR's "0 means default")."""

    def __init__(
        self,
        *,
        minimum: int | None = 0,
        maximum: int | None = None,
        zero: int | Callable[[], int] | None = None,
        too_big: str | None = None,
        too_small: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.minimum = minimum
        self.maximum = maximum
        self.zero = zero
        self.too_big = too_big
        self.too_small = too_small

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        number = to_int(value)
        if number == 0 and self.zero is not None:
            return self.zero() if callable(self.zero) else self.zero
        if self.minimum is not None and number < self.minimum:
            if self.too_small:
                raise ValidationError(self.too_small.format(value=number))
            if self.minimum == 0:
                raise ValidationError(f"must not be negative, got {number}")
            raise ValidationError(f"must be at least {self.minimum}, got {number}")
        if self.maximum is not None and number > self.maximum:
            raise ValidationError(
                (self.too_big or "must be at most {maximum}, got {value}").format(
                    value=number, maximum=self.maximum
                )
            )
        return number


class Bool(_Field):
    """``true``/``false``; also the strings Go's ``strconv.ParseBool`` takes (``${DEBUG}``)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            text = value.strip()
            if text in _GO_TRUE:
                return True
            if text in _GO_FALSE:
                return False
        raise ValidationError(f"expected a boolean (true or false), got {describe(value)}")


def to_str(value: object) -> str:
    """Scalars as text (``user: 1000`` is a name that happens to be digits); not lists or maps."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    raise ValidationError(f"expected a string, got {describe(value)}")


class Str(_Field):
    """A string; numbers are accepted as their text."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return to_str(value)


class Choice(_Field):
    """One of a fixed set of words, case-insensitive; ``aliases`` map old spellings."""

    def __init__(
        self, choices: tuple[str, ...], *, aliases: Mapping[str, str] | None = None, **kw: Any
    ) -> None:
        super().__init__(**kw)
        self.choices = choices
        self.aliases = dict(aliases or {})

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = to_str(value).strip().lower()
        if text in self.choices:
            return text
        if text in self.aliases:
            return self.aliases[text]
        words = list(self.choices) + list(self.aliases)
        raise ValidationError(
            f"expected one of {', '.join(words)}, got {describe(value)}{did_you_mean(text, words)}"
        )


class Duration(_Field):
    """A Go duration, in seconds; 0 or absent gives ``default``.

    ``floor``: values below it also give the default (the dynamic
    allocator's ``idle_timeout`` under 1s, as in RoadRunner).
    """

    def __init__(self, *, default: float, floor: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.default = default
        self.floor = floor

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        path = self.path()
        try:
            seconds = parse_duration(value, key=dotted(path), where=_state().where(path))
        except ConfigError as exc:
            raise ValidationError(exc.message) from None
        if seconds == 0 or seconds < self.floor:
            return self.default
        return seconds


class StrList(_Field):
    """A list of strings; a single string is a one-element list (``output: stdout``)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list):
            raise ValidationError(f"expected a list of strings, got {describe(value)}")
        out: list[str] = []
        errors: dict[int, list[str]] = {}
        for index, item in enumerate(value):
            try:
                out.append(to_str(item))
            except ValidationError as exc:
                errors[index] = [str(m) for m in _messages(exc)]
        if errors:
            raise ValidationError(errors)  # type: ignore[arg-type]
        return out


def _messages(exc: ValidationError) -> list[str]:
    messages = exc.messages
    return messages if isinstance(messages, list) else [str(messages)]


class Command(_Field):
    """A worker command: a YAML list is the argv as is; a string is split like a shell
    would (``shlex``: quotes and backslashes honoured, nothing expanded, no shell run).

    RoadRunner splits on single spaces and ignores quotes, so
    ``python -c "print(1)"`` would reach the program with literal quote
    characters there; honouring quotes is what people writing the string
    expect, and a plain ``php worker.php`` splits the same either way.
    """

    keep_null = True

    def __init__(self, *, empty_message: str | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.empty_message = empty_message

    def _empty(self) -> ValidationError:
        # RoadRunner's text is "command should not be empty"; the full key makes
        # it clear which of several commands (server, on_init, a pool) is meant.
        return ValidationError(self.empty_message or f"{dotted(self.path())} should not be empty")

    def _validate_missing(self, value: Any) -> None:
        if value is None:
            raise self._empty()
        super()._validate_missing(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        if isinstance(value, str):
            try:
                argv = shlex.split(value)
            except ValueError as exc:
                raise ValidationError(f"cannot split the command {value!r}: {exc}") from None
        elif isinstance(value, list):
            argv = StrList()._deserialize(value, attr, data)
        else:
            raise ValidationError(
                f"expected a command (a string or a list of arguments), got {describe(value)}"
            )
        if not argv or not argv[0].strip():
            raise self._empty()
        return argv


class Env(_Field):
    """Environment for a process: a map, or (as the RoadRunner docs write it) a list of
    one-key maps.  Keys are upper-cased like RR does; values become strings (a YAML
    ``true`` is ``"true"``, null is ``""``)."""

    def _value(self, value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, dict | list):
            raise ValidationError(f"expected a string value, got {describe(value)}")
        return to_str(value)

    def _map(self, mapping: dict[str, Any], out: dict[str, str]) -> dict[Any, Any]:
        errors: dict[Any, Any] = {}
        for key, value in mapping.items():
            name = str(key)
            if not _ENV_KEY.fullmatch(name):
                errors[key] = [
                    f"invalid environment variable name {name!r} "
                    "(letters, digits, '.', '_' and '-' only)"
                ]
                continue
            try:
                out[name.upper()] = self._value(value)
            except ValidationError as exc:
                errors[key] = _messages(exc)
        return errors

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> dict[str, str]:
        out: dict[str, str] = {}
        if isinstance(value, dict):
            errors = self._map(value, out)
        elif isinstance(value, list):
            errors = {}
            for index, item in enumerate(value):
                if not isinstance(item, dict) or len(item) != 1:
                    errors[index] = [
                        f"expected a one-key map such as 'NAME: value', got {describe(item)}"
                        if not isinstance(item, dict)
                        else f"expected a one-key map such as 'NAME: value', got {len(item)} keys"
                    ]
                    continue
                item_errors = self._map(item, out)
                if item_errors:
                    errors[index] = item_errors
        else:
            raise ValidationError(
                f"expected a map of NAME: value (or a list of one-key maps), got {describe(value)}"
            )
        if errors:
            raise ValidationError(errors)
        return out


# -- addresses ------------------------------------------------------------------------------


def _fallback_relay(value: str) -> None:
    """Used only when :mod:`relays.dsn` is not importable (it is the authority)."""
    if value == "pipes":
        return
    scheme, sep, rest = value.partition("://")
    if scheme == "unix" and sep and rest:
        return
    if scheme == "tcp" and sep:
        host, colon, port = rest.rpartition(":")
        if not colon or not port.isdigit() or int(port) > 65535:
            raise ValueError(f'invalid relay "{value}": expected tcp://host:port')
        if not host:
            raise ValueError(f'invalid relay "{value}": the host is missing')
        return
    raise ValueError(
        f'invalid relay "{value}": expected pipes, tcp://host:port or unix:///path/to.sock'
    )


def validate_relay(value: str) -> str:
    """Check a relay DSN (``pipes``, ``tcp://host:port``, ``unix://path``) and return it.

    :mod:`relays.dsn` owns the rules (what RR listens on and PHP can parse);
    calling it here moves the failure from start-up to config load, where it
    gets a line number.
    """
    try:
        from relays.dsn import parse_relay_dsn
    except ImportError:  # pragma: no cover - relays is part of the same distribution
        _fallback_relay(value)
    else:
        parse_relay_dsn(value)
    return value


def validate_listen(value: str) -> str:
    """``rpc.listen``: a tcp or unix DSN (``pipes`` makes no sense for a listener)."""
    if value == "pipes":
        raise ValueError(
            f'invalid listen address "{value}": expected tcp://host:port or unix:///path'
        )
    return validate_relay(value)


class Relay(_Field):
    """A relay or listener DSN, checked by :func:`validate_relay`."""

    def __init__(self, *, check: Callable[[str], str] = validate_relay, **kw: Any) -> None:
        super().__init__(**kw)
        self.check = check

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = to_str(value).strip()
        if not text:  # an unset ``${RELAY}``: fall back to the default, as RoadRunner does
            return ""
        try:
            return self.check(text)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


def parse_address(value: str) -> tuple[str, str, int]:
    """``host:port``, ``:port`` or ``tcp://host:port`` → ``(normalised, host, port)``.

    An empty host means every IPv4 interface (``0.0.0.0``), as RoadRunner's
    listener does; IPv6 hosts are written in brackets (``[::1]:8080``).
    """
    text = value.strip().removeprefix("tcp://")
    example = "expected host:port, e.g. 127.0.0.1:8080 or :8080"
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or not text[end + 1 :].startswith(":"):
            raise ValidationError(f"{example}, got {value!r}")
        host, port_text = text[1:end], text[end + 2 :]
    else:
        host, colon, port_text = text.rpartition(":")
        if not colon:
            hint = f" (write ':{text}' to listen on every interface)" if text.isdigit() else ""
            raise ValidationError(f"the port is missing: {example}, got {value!r}{hint}")
        if ":" in host:
            raise ValidationError(f"IPv6 hosts must be bracketed, e.g. [::1]:8080, got {value!r}")
    if not port_text.isdigit() or not port_text.isascii():
        raise ValidationError(f"the port is missing or not a number: {example}, got {value!r}")
    port = int(port_text)
    if port > 65535:
        raise ValidationError(f"port {port} is out of range 0..65535")
    if "/" in host:
        raise ValidationError(f"{example}, got {value!r}")
    host = host or "0.0.0.0"
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}", host, port


class Address(_Field):
    """``http.address``; deserialises to ``(normalised, host, port)``."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> tuple[str, str, int]:
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValidationError(
                f"expected host:port, got the integer {value} "
                f"(write ':{value}' to listen on every interface)"
            )
        return parse_address(to_str(value))


# -- sections ---------------------------------------------------------------------------------


class Section(fields.Nested):
    """A nested mapping; pushes its key onto the path so inner fields can name themselves.

    ``key:`` with no value means an empty section (``rpc:`` enables RPC
    with defaults); anything but a mapping is an error saying so.
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, dict):
            raise ValidationError(f"expected a map (key: value pairs), got {describe(value)}")
        with _pushed(self.name):
            return super()._deserialize(value, attr, data, **kwargs)


class _Base(Schema):
    """Shared key checks: unknown keys are errors with a did-you-mean hint; keys in
    ``IGNORED`` are dropped with a warning; null scalars mean "use the default"."""

    IGNORED: ClassVar[tuple[str, ...]] = ()
    IGNORED_WHY: ClassVar[str] = "is not supported by Greenrunner yet and is ignored"

    class Meta:
        unknown = RAISE

    @pre_load
    def _check_keys(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        known = list(self.fields)
        out: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        for key, value in data.items():
            name = str(key)
            fld = self.fields.get(name)
            if fld is not None:
                if value is None and isinstance(fld, Section):
                    value = {}  # ``rpc:`` alone: the section exists, with defaults
                elif value is None and not getattr(fld, "keep_null", False):
                    continue  # ``key:`` with no value: use the default
                out[name] = value
            elif name in self.IGNORED:
                _warn(current_path(name), self.IGNORED_WHY)
            else:
                errors[name] = [_unknown_key_message(name, known)]
        self._key_errors = errors
        return out

    @validates_schema(skip_on_field_errors=False)
    def _report_keys(self, data: Any, **kwargs: Any) -> None:
        # Raised here rather than in pre_load so the other keys of the section
        # are still validated and every mistake is reported in one run.
        errors, self._key_errors = getattr(self, "_key_errors", {}), {}
        if errors:
            raise ValidationError(errors)


class SupervisorSchema(_Base):
    """``<plugin>.pool.supervisor``: durations in seconds, memory in MiB, 0 = off."""

    watch_tick = Duration(default=5.0)
    ttl = Duration(default=0.0)
    idle_ttl = Duration(default=0.0)
    max_worker_memory = Int()
    exec_ttl = Duration(default=0.0)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> SupervisorConfig:
        return SupervisorConfig(**data)


class _Capped(Int):
    """RoadRunner silently caps these at 100; Greenrunner caps too but says so."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        number = super()._deserialize(value, attr, data, **kwargs)
        if number > 100:
            _warn(self.path(), f"{number} is more than 100; using 100 (RoadRunner's limit)")
            return 100
        return number


class DynamicAllocatorSchema(_Base):
    """Kept so RoadRunner configs using the (beta) allocator load unchanged."""

    max_workers = _Capped(zero=10)
    spawn_rate = _Capped(zero=5)
    idle_timeout = Duration(default=60.0, floor=1.0)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> DynamicAllocatorConfig:
        return DynamicAllocatorConfig(**data)


class PoolSchema(_Base):
    """One worker pool; the same schema serves ``http.pool`` and the embedding API."""

    # A pool's ``command:`` left empty means "use server.command", not an error.
    command = Command(keep_null=False)
    num_workers = Int(
        maximum=MAX_WORKERS,
        zero=cpu_count,
        too_big="number of workers can't be more than {maximum}, got {value}",
    )
    max_jobs = Int()
    max_queue_size = Int()
    allocate_timeout = Duration(default=60.0)
    reset_timeout = Duration(default=60.0)
    destroy_timeout = Duration(default=60.0)
    stream_timeout = Duration(default=60.0)
    debug = Bool()
    supervisor = Section(SupervisorSchema)
    dynamic_allocator = Section(DynamicAllocatorSchema)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> PoolConfig:
        return PoolConfig(**data)


class OnInitSchema(_Base):
    """``server.on_init``: present means a command is required (RoadRunner fails too)."""

    command = Command(
        required=True,
        empty_message="on_init command should not be empty",
        required_message="on_init needs a command (on_init command should not be empty)",
    )
    exec_timeout = Duration(default=60.0)
    env = Env()
    user = Str()
    exit_on_error = Bool()

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> OnInitConfig:
        return OnInitConfig(**data)


class ServerSchema(_Base):
    """``server``: how workers are started; ``command`` is checked against the pools later."""

    command = Command()
    user = Str()
    group = Str()
    env = Env()
    relay = Relay()
    relay_timeout = Duration(default=60.0)
    on_init = Section(OnInitSchema)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> ServerConfig:
        if not data.get("relay"):
            data.pop("relay", None)
        return ServerConfig(**data)


LOG_LEVELS = ("debug", "info", "warn", "error", "panic", "fatal")
LOG_MODES = ("development", "production", "raw", "off", "none")
LOG_ENCODINGS = ("console", "json")


class LogChannelSchema(_Base):
    """A channel only overrides what it sets; ``None`` fields inherit from ``logs``."""

    level = Choice(LOG_LEVELS, aliases={"warning": "warn"})
    mode = Choice(LOG_MODES)
    encoding = Choice(LOG_ENCODINGS)
    output = StrList()

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> LogChannelConfig:
        return LogChannelConfig(**data)


class Channels(_Field):
    """``logs.channels``: channel name → :class:`LogChannelSchema`."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> dict[str, LogChannelConfig]:
        if not isinstance(value, dict):
            raise ValidationError(f"expected a map of channel: settings, got {describe(value)}")
        out: dict[str, LogChannelConfig] = {}
        errors: dict[str, Any] = {}
        with _pushed(self.name):
            for name, settings in value.items():
                if settings is None:
                    settings = {}
                if not isinstance(settings, dict):
                    errors[name] = [
                        f"expected a map (level, mode, encoding, output), got {describe(settings)}"
                    ]
                    continue
                with _pushed(name):
                    try:
                        out[str(name)] = LogChannelSchema().load(settings)
                    except ValidationError as exc:
                        errors[name] = exc.messages
        if errors:
            raise ValidationError(errors)
        return out


class LogsSchema(_Base):
    """``logs``, shaped like RoadRunner's logger plugin so existing configs keep working."""

    level = Choice(LOG_LEVELS, aliases={"warning": "warn"})
    mode = Choice(LOG_MODES)
    encoding = Choice(LOG_ENCODINGS)
    output = StrList()
    err_output = StrList()
    line_ending = Str()
    channels = Channels()

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> LogsConfig:
        return LogsConfig(**data)


def _extensions(values: list[str]) -> list[str]:
    """``PHP`` / ``.Php`` → ``.php``: uploads compare lower-cased extensions with the dot."""
    out = []
    for value in values:
        text = value.strip().lower()
        if text:
            out.append(text if text.startswith(".") else f".{text}")
    return out


class UploadsSchema(_Base):
    """``http.uploads``; extensions are normalised once here instead of per request."""

    dir = Str()
    forbid = StrList()
    allow = StrList()

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> UploadsConfig:
        if not data.get("dir"):
            data["dir"] = tempfile.gettempdir()
        for key in ("forbid", "allow"):
            if key in data:
                data[key] = _extensions(data[key])
        return UploadsConfig(**data)


class _Middleware(StrList):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        names = super()._deserialize(value, attr, data, **kwargs)
        for name in names:
            if name not in KNOWN_MIDDLEWARE:
                _warn(self.path(), f"requested middleware {name!r} does not exist; ignored")
        return names


class HttpSchema(_Base):
    """``http``: plain HTTP/1.1 only, so TLS, h2, fcgi and RR middleware sections are
    accepted (a shared config must load) and ignored with a warning."""

    IGNORED = HTTP_UNSUPPORTED

    address = Address(
        required=True,
        required_message=(
            "http needs an address to listen on, e.g. address: 127.0.0.1:8080 "
            "(Greenrunner serves plain HTTP only)"
        ),
        null_message="http.address is empty: expected host:port, e.g. 127.0.0.1:8080",
        keep_null=True,
    )
    pool = Section(PoolSchema)
    max_request_size = Int(zero=1000)
    internal_error_code = Int(
        zero=500,
        minimum=100,
        maximum=599,
        too_small="expected an HTTP status code between 100 and 599, got {value}",
        too_big="expected an HTTP status code between 100 and 599, got {value}",
    )
    raw_body = Bool()
    access_logs = Bool()
    uploads = Section(UploadsSchema)
    middleware = _Middleware()

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> HttpConfig:
        data["address"], data["host"], data["port"] = data["address"]
        return HttpConfig(**data)


class RpcSchema(_Base):
    """``rpc``: the section's presence enables RPC, so an empty one gets the default DSN."""

    listen = Relay(check=validate_listen)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> RpcConfig:
        return RpcConfig(listen=data.get("listen") or DEFAULT_RPC_LISTEN)


class Version(_Field):
    """``version: "3"``. RoadRunner insists on a YAML string (``3`` is an int there too)."""

    keep_null = True

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise ValidationError(
                f'version should be a string: use version: "3" (quoted), got {describe(value)}'
            )
        if value.strip() != "3":
            raise ValidationError(
                f"unsupported config version {value!r}: Greenrunner reads RoadRunner v3 "
                'configs; use version: "3"'
            )
        return "3"


class ConfigSchema(_Base):
    """The whole file. Top-level keys that are not Greenrunner's: RoadRunner plugin
    sections are ignored with a warning (a config shared with RR must still load);
    a near-miss of a supported key (``htpp``) is an error, since it is a typo that
    would silently drop the whole section; anything else is warned about."""

    version = Version(
        null_message='version should be a string: use version: "3"',
        required=True,
        required_message='the file needs version: "3" at the top (RoadRunner v3 config)',
    )
    server = Section(ServerSchema)
    logs = Section(LogsSchema)
    http = Section(HttpSchema)
    rpc = Section(RpcSchema)

    @pre_load
    def _check_keys(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        for key, value in data.items():
            name = str(key)
            if name in self.fields:
                if value is None and isinstance(self.fields[name], Section):
                    value = {}
                out[name] = value
            elif name == "include":
                errors[name] = ["include must be resolved by the loader (load_config)"]
            elif name in IGNORED_SECTIONS:
                _warn((name,), f"section {name} is not supported by Greenrunner and is ignored")
            elif did_you_mean(name, SUPPORTED_SECTIONS):
                errors[name] = [_unknown_key_message(name, list(SUPPORTED_SECTIONS))]
            else:
                hint = did_you_mean(name, sorted(IGNORED_SECTIONS))
                _warn((name,), f"unknown section {name} is ignored{hint}")
        if "version" not in out and not _state().require_version:
            out["version"] = "3"
        self._key_errors = errors
        return out

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Config:
        config = Config(**data)
        _check_worker_command(config)
        return config


def _check_worker_command(config: Config) -> None:
    """A pool needs a command: its own ``pool.command`` or ``server.command``."""
    pools = {"http.pool": config.http.pool} if config.http is not None else {}
    server = config.server
    if server is not None and server.command:
        return
    without = [name for name, pool in pools.items() if pool.command is None]
    if server is None and not without:
        return
    if server is not None and pools and not without:
        return  # every pool brings its own command; server only sets env, relay, user
    if server is None:
        message = (
            f"server.command should not be empty: {', '.join(without)} needs a worker "
            "command; add a server section with a command (or set pool.command)"
        )
    else:
        message = "server.command should not be empty" + (
            f": {', '.join(without)} has no command of its own" if without else ""
        )
    raise ValidationError({"server": {"command": [message]}})


# -- entry points -------------------------------------------------------------------------------


def load_root(data: dict[str, Any], *, state: LoadState) -> Config:
    """Validate a whole config tree; raises :class:`ValidationError` (the loader locates it)."""
    with _using(state):
        return ConfigSchema().load(data)


def load_pool(data: dict[str, Any], *, state: LoadState) -> PoolConfig:
    """Validate one pool section on its own (the embedding API's ``new_pool``)."""
    with _using(state):
        return PoolSchema().load(data)
