"""``status``: the health and readiness endpoints (RoadRunner's status plugin)."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, post_load

from actors.config.durations import parse_duration
from actors.config.errors import ConfigError
from actors.config.model import StatusConfig
from actors.config.schema.addresses import Address
from actors.config.schema.base import SectionSchema
from actors.config.schema.fields import Int, status_code

__all__ = ["StatusSchema"]


class _Seconds(Int):
    """A whole number of seconds (RoadRunner decodes ``check_timeout`` into a Go ``int``).

    A duration string such as ``"5s"`` fails in RoadRunner too; the error here
    says which number to write instead.
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except ValidationError:
            if not isinstance(value, str):
                raise
            try:
                seconds = parse_duration(value, key=self.key)
            except ConfigError:
                raise ValidationError(
                    f"expected a whole number of seconds, got {value!r} (e.g. {self.key}: 60)"
                ) from None
            raise ValidationError(
                f"{self.key} is a whole number of seconds, not a duration: "
                f"write {self.key}: {max(1, round(seconds))} instead of {value!r}"
            ) from None


class StatusSchema(SectionSchema):
    """``status``: ``address`` is required (as in RoadRunner); 0 means the default for
    ``unavailable_status_code`` (503) and ``check_timeout`` (60 seconds)."""

    address = Address(
        required=True,
        required_message=("status needs an address to listen on, e.g. address: 127.0.0.1:2114"),
        null_message="status.address is empty: expected host:port, e.g. 127.0.0.1:2114",
        keep_null=True,
    )
    unavailable_status_code = status_code(zero=503)
    check_timeout = _Seconds(zero=60)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> StatusConfig:
        data["address"] = data["address"][0]
        return StatusConfig(**data)
