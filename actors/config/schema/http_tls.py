"""``http.ssl`` and ``http.http2``: the TLS listener and the HTTP/2 settings.

Checked as RoadRunner's ``servers/https/config.go`` does (``SSL.Valid``): key and cert must
exist unless ``acme`` is set, ``root_ca`` must exist when given.  ``acme`` is parsed so a
shared config loads, then refused: issuing certificates needs the ACME CA over the network,
which Greenrunner does not do (use a certificate from certbot or lego instead).
"""

from __future__ import annotations

import os
from typing import Any

from marshmallow import ValidationError, post_load, validates_schema

from actors.config.model import Http2Config, SslConfig
from actors.config.schema.addresses import Address
from actors.config.schema.base import Section, SectionSchema
from actors.config.schema.fields import Bool, Choice, Int, Str, StrList

__all__ = ["CLIENT_AUTH_TYPES", "AcmeSchema", "Http2Schema", "SslSchema"]

#: The five values of ``http.ssl.client_auth_type`` (Go's ``tls.ClientAuthType`` names).
CLIENT_AUTH_TYPES = (
    "no_client_cert",
    "request_client_cert",
    "require_any_client_cert",
    "verify_client_cert_if_given",
    "require_and_verify_client_cert",
)

_ACME_UNSUPPORTED = (
    "ACME (automatic certificates) is not supported: issuing a certificate needs the ACME "
    "server over the network and a challenge listener, which Greenrunner does not run; get a "
    "certificate with certbot or lego and set http.ssl.key and http.ssl.cert instead"
)


class AcmeSchema(SectionSchema):
    """``http.ssl.acme``: RoadRunner's keys, accepted so that the error below is the only one."""

    cache_dir = Str()
    email = Str()
    alt_http_port = Int(minimum=0)
    alt_tlsalpn_port = Int(minimum=0)
    challenge_type = Str()
    use_production_endpoint = Bool()
    domains = StrList()


def _existing(path: str, what: str) -> str:
    """``path`` if it is a readable file, else the RoadRunner-style error naming it."""
    if not os.path.isfile(path):
        raise ValidationError(f"{what} file {path!r} does not exist (a PEM file is expected)")
    if not os.access(path, os.R_OK):
        raise ValidationError(f"{what} file {path!r} is not readable by this user")
    return path


class SslSchema(SectionSchema):
    """``http.ssl``; ``address`` defaults to RoadRunner's ``127.0.0.1:443``."""

    address = Address()
    key = Str()
    cert = Str()
    root_ca = Str()
    client_auth_type = Choice(CLIENT_AUTH_TYPES, aliases={"no_client_certs": "no_client_cert"})
    redirect = Bool()
    acme = Section(AcmeSchema)

    @validates_schema(skip_on_field_errors=True)
    def _check_files(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "acme" in data:
            raise ValidationError({"acme": [_ACME_UNSUPPORTED]})
        errors: dict[str, list[str]] = {}
        for key, what in (("key", "key"), ("cert", "cert")):
            path = data.get(key, "")
            if not path:
                errors[key] = [
                    f"http.ssl needs a {what} file (PEM), e.g. {key}: /etc/ssl/server.{key}"
                ]
                continue
            try:
                _existing(path, what)
            except ValidationError as exc:
                errors[key] = [str(exc.messages[0])]
        root_ca = data.get("root_ca", "")
        if root_ca:
            try:
                _existing(root_ca, "root ca")
            except ValidationError as exc:
                errors["root_ca"] = [str(exc.messages[0])]
        if errors:
            raise ValidationError(errors)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> SslConfig:
        data.pop("acme", None)
        if "address" in data:
            data["address"], data["host"], data["port"] = data["address"]
        return SslConfig(**data)


class Http2Schema(SectionSchema):
    """``http.http2``; ``max_concurrent_streams`` 0 or absent gives RoadRunner's 128."""

    h2c = Bool()
    max_concurrent_streams = Int(minimum=0, zero=128)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Http2Config:
        return Http2Config(**data)
