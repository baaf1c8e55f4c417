"""``logs`` and ``logs.channels``, shaped like RoadRunner's logger plugin."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, post_load

from actors.config.errors import describe
from actors.config.model import LogChannelConfig, LogsConfig
from actors.config.schema.base import SectionSchema
from actors.config.schema.fields import BaseField, Choice, Str, StrList
from actors.config.schema.paths import pushed

__all__ = [
    "LOG_ENCODINGS",
    "LOG_LEVELS",
    "LOG_MODES",
    "Channels",
    "LogChannelSchema",
    "LogsSchema",
]

LOG_LEVELS = ("debug", "info", "warn", "error", "panic", "fatal")
LOG_MODES = ("development", "production", "raw", "off", "none")
LOG_ENCODINGS = ("console", "json")


class LogChannelSchema(SectionSchema):
    """A channel only overrides what it sets; ``None`` fields inherit from ``logs``."""

    level = Choice(LOG_LEVELS, aliases={"warning": "warn"})
    mode = Choice(LOG_MODES)
    encoding = Choice(LOG_ENCODINGS)
    output = StrList()

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> LogChannelConfig:
        return LogChannelConfig(**data)


class Channels(BaseField):
    """``logs.channels``: channel name → :class:`LogChannelSchema`."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> dict[str, LogChannelConfig]:
        if not isinstance(value, dict):
            raise ValidationError(f"expected a map of channel: settings, got {describe(value)}")
        out: dict[str, LogChannelConfig] = {}
        errors: dict[str, Any] = {}
        with pushed(self.key):
            for name, settings in value.items():
                if settings is None:
                    settings = {}
                if not isinstance(settings, dict):
                    errors[name] = [
                        f"expected a map (level, mode, encoding, output), got {describe(settings)}"
                    ]
                    continue
                with pushed(name):
                    try:
                        out[str(name)] = LogChannelSchema().load(settings)
                    except ValidationError as exc:
                        errors[name] = exc.messages
        if errors:
            raise ValidationError(errors)
        return out


class LogsSchema(SectionSchema):
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
