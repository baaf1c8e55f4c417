"""What every section shares: nesting (:class:`Section`) and the key checks of
:class:`SectionSchema` (unknown keys, ignored keys, empty values).

Each section schema ends with a ``post_load`` that builds its dataclass from
:mod:`actors.config.model`, so the loader gets typed objects, not dicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from typing import Any, ClassVar

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validates_schema

from actors.config.errors import describe
from actors.config.schema.paths import current_path, pushed, unknown_key_message, warn

__all__ = ["Section", "SectionSchema"]


class Section(fields.Nested):
    """A nested mapping; pushes its key onto the path so inner fields can name themselves.

    ``key:`` with no value means an empty section (``rpc:`` enables RPC
    with defaults); anything but a mapping is an error saying so.
    """

    def _deserialize(
        self,
        value: Any,
        attr: str | None,
        data: Mapping[str, Any] | None,
        partial: bool | Sequence[str] | Set[str] | None = None,
        **kwargs: Any,
    ) -> Any:
        if not isinstance(value, dict):
            raise ValidationError(f"expected a map (key: value pairs), got {describe(value)}")
        if self.name is None:
            raise RuntimeError("a Section must be bound to a schema")
        with pushed(self.name):
            return super()._deserialize(value, attr, data, partial, **kwargs)


class SectionSchema(Schema):
    """Shared key checks: unknown keys are errors with a did-you-mean hint; keys in
    ``IGNORED`` are dropped with a warning; null scalars mean "use the default"."""

    IGNORED: ClassVar[tuple[str, ...]] = ()
    IGNORED_WHY: ClassVar[str] = "is not supported by Greenrunner yet and is ignored"

    _key_errors: dict[str, list[str]]

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
                warn(current_path(name), self.IGNORED_WHY)
            else:
                errors[name] = [unknown_key_message(name, known)]
        self._key_errors = errors
        return out

    @validates_schema(skip_on_field_errors=False)
    def _report_keys(self, data: Any, **kwargs: Any) -> None:
        # Raised here rather than in pre_load so the other keys of the section
        # are still validated and every mistake is reported in one run.
        errors, self._key_errors = getattr(self, "_key_errors", {}), {}
        if errors:
            raise ValidationError(errors)
