"""Value types shared by the sections: integers, booleans, strings, choices,
durations and string lists.

Typing is deliberately a little weak, like RoadRunner's decoder: ``"4"``
is a fine ``num_workers`` (values produced by ``${VAR}`` are strings) and
``1000`` a fine ``user``.  What cannot be meant (``"four"``, a list where a
map belongs, ``yes please`` for a bool) is an error that says what was
expected.  Fields raise :class:`marshmallow.ValidationError` with the bare
message; the loader adds the file, line and key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from marshmallow import ValidationError, fields

from actors.config.durations import parse_duration
from actors.config.errors import ConfigError, describe
from actors.config.schema.paths import Path, current_path, did_you_mean, dotted, state

__all__ = [
    "BaseField",
    "Bool",
    "Choice",
    "Duration",
    "Int",
    "Str",
    "StrList",
    "messages_of",
    "status_code",
    "str_list",
    "to_int",
    "to_str",
]

_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
_INT_TEXT = re.compile(r"[+-]?\d+")


class BaseField(fields.Field):
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

    @property
    def key(self) -> str:
        """The field's key in its section (marshmallow names a field when binding it)."""
        if self.name is None:
            raise RuntimeError(f"{type(self).__name__} is not bound to a schema")
        return self.name

    def path(self) -> Path:
        """The full key path of this field, for messages and warnings."""
        return current_path(self.key)


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


class Int(BaseField):
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


class Bool(BaseField):
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


class Str(BaseField):
    """A string; numbers are accepted as their text."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return to_str(value)


class Choice(BaseField):
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


class Duration(BaseField):
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
            seconds = parse_duration(value, key=dotted(path), where=state().where(path))
        except ConfigError as exc:
            raise ValidationError(exc.message) from None
        if seconds == 0 or seconds < self.floor:
            return self.default
        return seconds


def messages_of(exc: ValidationError) -> list[str]:
    """A field error's messages as a list (marshmallow may hold a dict or a string)."""
    messages = exc.messages
    return messages if isinstance(messages, list) else [str(messages)]


def str_list(value: object) -> list[str]:
    """A list of strings; a single string is a one-element list (``output: stdout``)."""
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
            errors[index] = [str(m) for m in messages_of(exc)]
    if errors:
        raise ValidationError(errors)
    return out


class StrList(BaseField):
    """A list of strings; a single string is a one-element list (``output: stdout``)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        return str_list(value)


def status_code(*, zero: int) -> Int:
    """An HTTP status code (100..599) whose 0 means ``zero``, as RoadRunner's "0 means default"."""
    message = "expected an HTTP status code between 100 and 599, got {value}"
    return Int(zero=zero, minimum=100, maximum=599, too_small=message, too_big=message)
