"""``server``: how worker processes are started, and ``server.on_init``."""

from __future__ import annotations

from typing import Any

from marshmallow import post_load

from actors.config.model import OnInitConfig, ServerConfig
from actors.config.schema.addresses import Relay
from actors.config.schema.base import Section, SectionSchema
from actors.config.schema.commands import Command, Env
from actors.config.schema.fields import Bool, Duration, Int, Str

__all__ = ["OnInitSchema", "ServerSchema"]


class OnInitSchema(SectionSchema):
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


class ServerSchema(SectionSchema):
    """``server``: how workers are started; ``command`` is checked against the pools later
    (:mod:`actors.config.schema.root`), since a pool may bring its own."""

    command = Command()
    user = Str()
    group = Str()
    env = Env()
    relay = Relay()
    relay_timeout = Duration(default=60.0)
    #: MiB; 0 means the default. A goridge length field is 32 bits, so 4095 is the top.
    max_frame_size = Int(zero=256, maximum=4095)
    on_init = Section(OnInitSchema)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> ServerConfig:
        if not data.get("relay"):
            data.pop("relay", None)
        return ServerConfig(**data)
