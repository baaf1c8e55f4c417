"""``tcp``: raw TCP servers whose connections are served by one worker pool.

RoadRunner's ``tcp`` plugin (``config.go``): ``servers.<name>.{addr, delimiter}``,
``read_buf_size`` in MiB (0 means 1) and ``pool``.  Greenrunner adds
``max_message_size`` (MiB) and, per server, ``stream`` and ``max_connections``.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, post_load

from actors.config.errors import describe
from actors.config.model import TcpConfig, TcpServerConfig
from actors.config.schema.addresses import Address
from actors.config.schema.base import Section, SectionSchema
from actors.config.schema.fields import BaseField, Bool, Int, Str
from actors.config.schema.paths import pushed
from actors.config.schema.pool import PoolSchema

__all__ = ["TcpSchema", "TcpServerSchema"]


class TcpServerSchema(SectionSchema):
    """One entry of ``tcp.servers``; the server's name is its key."""

    addr = Address(
        required=True,
        required_message="empty address for the server: write addr: 127.0.0.1:7777",
        null_message="empty address for the server: write addr: 127.0.0.1:7777",
        keep_null=True,
    )
    delimiter = Str()
    stream = Bool()
    max_connections = Int()

    def __init__(self, name: str) -> None:
        super().__init__()
        self.server_name = name

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> TcpServerConfig:
        addr, host, port = data.pop("addr")
        # RoadRunner: an empty delimiter means the default; the bytes are the string's bytes.
        delimiter = data.pop("delimiter", "") or "\r\n"
        return TcpServerConfig(
            name=self.server_name,
            addr=addr,
            host=host,
            port=port,
            delimiter=delimiter.encode("utf-8", "surrogateescape"),
            **data,
        )


class _Servers(BaseField):
    """``tcp.servers``: server name → :class:`TcpServerSchema`; at least one is needed."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> dict[str, TcpServerConfig]:
        if not isinstance(value, dict):
            raise ValidationError(
                f"expected a map of server name: {{addr, delimiter}}, got {describe(value)}"
            )
        if not value:
            raise ValidationError(_NO_SERVERS)
        out: dict[str, TcpServerConfig] = {}
        errors: dict[str, Any] = {}
        with pushed(self.key):
            for key, settings in value.items():
                name = str(key)
                if settings is None:
                    settings = {}
                if not isinstance(settings, dict):
                    errors[key] = [f"expected a map (addr, delimiter), got {describe(settings)}"]
                    continue
                with pushed(name):
                    try:
                        out[name] = TcpServerSchema(name).load(settings)
                    except ValidationError as exc:
                        errors[key] = exc.messages
        if errors:
            raise ValidationError(errors)
        return out


_NO_SERVERS = (
    "no servers registered: name at least one server with its address, "
    "e.g. tcp.servers.echo.addr: 127.0.0.1:7777"
)


class TcpSchema(SectionSchema):
    """``tcp``: ``servers`` is required and not empty (RoadRunner: "no servers registered")."""

    servers = _Servers(required=True, required_message=_NO_SERVERS, null_message=_NO_SERVERS)
    read_buf_size = Int(minimum=0, zero=1)
    max_message_size = Int(minimum=0, zero=8)
    pool = Section(PoolSchema)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> TcpConfig:
        return TcpConfig(**data)
