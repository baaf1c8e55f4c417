"""Addresses: relay and listener DSNs (``pipes``, ``tcp://host:port``, ``unix://path``)
and the ``host:port`` that HTTP-style listeners (``http``, ``status``, ``metrics``) bind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import ValidationError

from actors.config.schema.fields import BaseField, to_str
from relays.dsn import parse_relay_dsn

__all__ = ["Address", "Relay", "parse_address", "validate_listen", "validate_relay"]


def validate_relay(value: str) -> str:
    """Check a relay DSN (``pipes``, ``tcp://host:port``, ``unix://path``) and return it.

    :mod:`relays.dsn` owns the rules (what RR listens on and PHP can parse);
    calling it here moves the failure from start-up to config load, where it
    gets a line number.
    """
    parse_relay_dsn(value)
    return value


def validate_listen(value: str) -> str:
    """``rpc.listen``: a tcp or unix DSN (``pipes`` makes no sense for a listener)."""
    if value == "pipes":
        raise ValueError(
            f'invalid listen address "{value}": expected tcp://host:port or unix:///path'
        )
    return validate_relay(value)


class Relay(BaseField):
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


class Address(BaseField):
    """A listener's ``host:port``; deserialises to ``(normalised, host, port)``."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> tuple[str, str, int]:
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValidationError(
                f"expected host:port, got the integer {value} "
                f"(write ':{value}' to listen on every interface)"
            )
        return parse_address(to_str(value))
