"""``http.static``, ``http.headers`` and ``http.trusted_subnets``: the middleware settings.

RoadRunner reads these with separate plugins (static, headers, proxy_ip_parser); here they are
validated with the ``http`` section so a mistake is reported with its file, line and key at
load time instead of when the first request arrives.  What each key does is in
``docs/http-middleware.md``.
"""

from __future__ import annotations

import ipaddress
import os
import re
from typing import Any

from marshmallow import ValidationError, post_load

from actors.config.errors import describe
from actors.config.model import CorsConfig, HeadersConfig, StaticConfig
from actors.config.schema.base import Section, SectionSchema
from actors.config.schema.fields import BaseField, Bool, Int, StrList, status_code, to_str
from actors.config.schema.paths import current_path, warn

__all__ = [
    "IMPLEMENTED_MIDDLEWARE",
    "HeadersSchema",
    "StaticSchema",
    "StrMap",
    "TrustedSubnets",
    "extensions",
    "warn_unusable_middleware",
]

#: The ``http.middleware`` names Greenrunner implements (``actors/plugins/http/middleware/``).
IMPLEMENTED_MIDDLEWARE = frozenset(
    {"static", "headers", "gzip", "proxy_ip_parser", "sendfile", "http_metrics"}
)
#: Middleware that does nothing without its own section (RoadRunner disables the plugin then,
#: and reports the name as not existing).
_NEEDS_SECTION = {"static": "static", "headers": "headers"}


def extensions(values: list[str]) -> list[str]:
    """``PHP`` / ``.Php`` → ``.php``: extensions are compared lower-cased, with their dot."""
    out = []
    for value in values:
        text = value.strip().lower()
        if text:
            out.append(text if text.startswith(".") else f".{text}")
    return out


def _comma_list(value: str) -> list[str]:
    """RoadRunner's ``"a, b"`` strings: split on commas, blanks dropped."""
    return [item.strip() for item in value.split(",") if item.strip()]


class StrMap(BaseField):
    """A map of header name to value (``X-Powered-By: greenrunner``); numbers become text."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> dict[str, str]:
        if not isinstance(value, dict):
            raise ValidationError(f"expected a map of header: value, got {describe(value)}")
        out: dict[str, str] = {}
        for key, item in value.items():
            name = str(key)
            text = to_str(item) if item is not None else ""
            if not name or any(c in name for c in " \t\r\n:") or any(c in text for c in "\r\n"):
                raise ValidationError(
                    f"{name!r}: {text!r} is not a valid header (a name without spaces or colons, "
                    "a value on one line)"
                )
            out[name] = text
        return out


class _Directory(BaseField):
    """An existing directory, kept as its real path (symlinks resolved) so that containment
    checks per request compare against the directory actually served."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = to_str(value).strip()
        if not text:
            raise ValidationError("is empty: give the directory to serve, e.g. dir: public")
        real = os.path.realpath(text)
        if not os.path.exists(real):
            raise ValidationError(
                f"root directory {text!r} does not exist (looked for {real}); create it or fix "
                "the path (relative paths start at the server's working directory)"
            )
        if not os.path.isdir(real):
            raise ValidationError(f"{text!r} is not a directory; static.dir must be a directory")
        return real


class StaticSchema(SectionSchema):
    """``http.static``: the ``static`` middleware.  Newer upstream keys that compress static
    files are accepted (a shared config must load) and ignored: list ``gzip`` outside
    ``static`` instead."""

    IGNORED = ("gzip_enabled", "max_size_compressed_file")

    dir = _Directory()
    forbid = StrList()
    allow = StrList()
    calculate_etag = Bool()
    weak = Bool()
    request = StrMap()
    response = StrMap()

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> StaticConfig:
        if "dir" not in data:
            data["dir"] = os.path.realpath(".")
        for key in ("forbid", "allow"):
            if key in data:
                data[key] = extensions(data[key])
        if "allow" in data:
            forbidden = set(data.get("forbid", []))
            data["allow"] = [ext for ext in data["allow"] if ext not in forbidden]
        return StaticConfig(**data)


class _CommaList(BaseField):
    """RoadRunner's comma-separated string (``"GET,POST"``); a YAML list is accepted too."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        if isinstance(value, list):
            return [item for v in value for item in _comma_list(to_str(v))]
        return _comma_list(to_str(value))


class _Regex(BaseField):
    """A regular expression, compiled once here so a typo is a load-time error."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = to_str(value)
        try:
            re.compile(text)
        except re.error as exc:
            raise ValidationError(f"not a valid regular expression: {exc}") from None
        return text


class CorsSchema(SectionSchema):
    """``http.headers.cors``: the rs/cors options RoadRunner maps (``debug`` is accepted and
    ignored: Greenrunner logs nothing per CORS request)."""

    allowed_origin = _CommaList()
    allowed_origin_regex = _Regex()
    allowed_headers = _CommaList()
    allowed_methods = _CommaList()
    allow_credentials = Bool()
    exposed_headers = _CommaList()
    max_age = Int(minimum=0)
    options_success_status = status_code(zero=200)
    debug = Bool()

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> CorsConfig:
        data.pop("debug", None)
        return CorsConfig(**data)


class HeadersSchema(SectionSchema):
    """``http.headers``: the ``headers`` middleware."""

    cors = Section(CorsSchema)
    request = StrMap()
    response = StrMap()

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> HeadersConfig:
        return HeadersConfig(**data)


class TrustedSubnets(BaseField):
    """``http.trusted_subnets``: CIDRs (``10.0.0.0/8``, ``::1/128``); a bare address is a
    one-host network.  Each is parsed here, so a typo names its index and value."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ValidationError(f"expected a list of CIDR subnets, got {describe(value)}")
        out: list[str] = []
        errors: dict[int, list[str]] = {}
        for index, item in enumerate(value):
            try:
                text = to_str(item).strip()
                out.append(str(ipaddress.ip_network(text, strict=False)))
            except (ValueError, ValidationError):
                errors[index] = [
                    f"{item!r} is not a subnet: expected CIDR notation, e.g. 10.0.0.0/8 or ::1/128"
                ]
        if errors:
            raise ValidationError(errors)
        return out


def warn_unusable_middleware(names: list[str], data: dict[str, Any], known: frozenset[str]) -> None:
    """Warn (once, at load) about listed middleware that will do nothing: RoadRunner names
    Greenrunner does not implement, and ``static`` / ``headers`` without their section."""
    for name in names:
        if name in known and name not in IMPLEMENTED_MIDDLEWARE:
            warn(
                current_path("middleware"),
                f"middleware {name!r} is not implemented by Greenrunner; ignored",
            )
        section = _NEEDS_SECTION.get(name)
        if section is not None and section not in data:
            warn(
                current_path("middleware"),
                f"middleware {name!r} is listed but http.{section} is missing; it does nothing "
                f"(add an http.{section} section)",
            )
