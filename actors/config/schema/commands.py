"""How a process is described: its command line and its environment."""

from __future__ import annotations

import re
import shlex
from typing import Any

from marshmallow import ValidationError

from actors.config.errors import describe
from actors.config.schema.fields import BaseField, messages_of, str_list, to_str
from actors.config.schema.paths import dotted

__all__ = ["Command", "Env"]

_ENV_KEY = re.compile(r"[A-Za-z0-9._-]+")


class Command(BaseField):
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
            argv = str_list(value)
        else:
            raise ValidationError(
                f"expected a command (a string or a list of arguments), got {describe(value)}"
            )
        if not argv or not argv[0].strip():
            raise self._empty()
        return argv


class Env(BaseField):
    """Environment for a process: a map, or (as the RoadRunner docs write it) a list of
    one-key maps.  Keys are upper-cased like RR does; values become strings (a YAML
    ``true`` is ``"true"``, null is ``""``)."""

    def _value(self, value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, dict | list):
            raise ValidationError(f"expected a string value, got {describe(value)}")
        return to_str(value)

    def _map(self, mapping: dict[Any, Any], out: dict[str, str]) -> dict[Any, Any]:
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
                errors[key] = messages_of(exc)
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
