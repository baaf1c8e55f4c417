"""``http``: the listener, its pool, uploads and middleware names."""

from __future__ import annotations

import tempfile
from typing import Any

from marshmallow import ValidationError, post_load, validates_schema

from actors.config.model import HttpConfig, UploadsConfig
from actors.config.schema.addresses import Address
from actors.config.schema.base import Section, SectionSchema
from actors.config.schema.fields import Bool, Duration, Int, Str, StrList, status_code
from actors.config.schema.http_middleware import (
    HeadersSchema,
    StaticSchema,
    TrustedSubnets,
    extensions,
    warn_unusable_middleware,
)
from actors.config.schema.http_tls import Http2Schema, SslSchema
from actors.config.schema.paths import warn
from actors.config.schema.pool import PoolSchema

__all__ = ["HTTP_UNSUPPORTED", "KNOWN_MIDDLEWARE", "HttpSchema", "UploadsSchema"]

#: ``http.*`` subsections RoadRunner knows and Greenrunner does not implement yet.
HTTP_UNSUPPORTED = ("fcgi", "http3")

#: Middleware names RoadRunner ships; others only get a warning, as in RR.
KNOWN_MIDDLEWARE = frozenset(
    {"headers", "gzip", "static", "sendfile", "http_metrics", "cache", "otel", "proxy_ip_parser"}
)


class UploadsSchema(SectionSchema):
    """``http.uploads``; extensions are normalised once here instead of per request."""

    dir = Str()
    forbid = StrList()
    allow = StrList()

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> UploadsConfig:
        if not data.get("dir"):
            data["dir"] = tempfile.gettempdir()
        for key in ("forbid", "allow"):
            if key in data:
                data[key] = extensions(data[key])
        return UploadsConfig(**data)


class _Middleware(StrList):
    """``http.middleware``: names are kept in order; unknown ones are warned about,
    not rejected, because RoadRunner only logs them too."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        names = super()._deserialize(value, attr, data, **kwargs)
        for name in names:
            if name not in KNOWN_MIDDLEWARE:
                warn(self.path(), f"requested middleware {name!r} does not exist; ignored")
        return names


class HttpSchema(SectionSchema):
    """``http``: HTTP/1.1, TLS and HTTP/2 (``http_tls.py``) and the middleware sections
    (``static``, ``headers``, ``trusted_subnets``, validated in ``http_middleware.py``); fcgi and
    http3 are accepted (a shared config must load) and ignored with a warning."""

    IGNORED = HTTP_UNSUPPORTED

    #: The plain listener; optional when ``ssl`` is set (TLS only), checked in ``_listeners``.
    address = Address(
        null_message="http.address is empty: expected host:port, e.g. 127.0.0.1:8080",
        keep_null=True,
    )
    pool = Section(PoolSchema)
    max_request_size = Int(zero=1000)
    internal_error_code = status_code(zero=500)
    raw_body = Bool()
    access_logs = Bool()
    uploads = Section(UploadsSchema)
    middleware = _Middleware()
    #: Settings of the ``static``, ``headers`` and ``proxy_ip_parser`` middleware.
    static = Section(StaticSchema)
    headers = Section(HeadersSchema)
    trusted_subnets = TrustedSubnets()
    #: Time to receive a whole request head, from its first byte (idle keep-alive time is not
    #: counted).  10s: a head is one or two packets, so even a 2 s round trip on a poor mobile
    #: link fits five times over, while a slowloris client trickling header bytes is cut after
    #: 10s instead of RoadRunner's 5 minutes.  0 or absent: the default.
    header_timeout = Duration(default=10.0)
    #: Lowest average body rate in bytes/s, required once a 10 s grace period from the request's
    #: first byte has passed.  1024: five times below GPRS (~5 KB/s), the slowest link still in
    #: use, and an average, so a mobile upload that stalls for a while in a hand-over is not cut;
    #: a client trickling its body is cut after seconds, not after the 5 minute whole-request
    #: limit.  0 disables the check.
    min_body_rate = Int(minimum=0)
    #: Open client connections at once; more are closed as soon as they are accepted, with one
    #: log line per burst.  10,000 is far above what one process serves usefully and still well
    #: below a usual ``ulimit -n`` raised for a server.  0 or absent: the default.
    max_connections = Int(minimum=0, zero=10_000)

    #: TLS and HTTP/2 (``actors/config/schema/http_tls.py``).
    ssl = Section(SslSchema)
    http2 = Section(Http2Schema)

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _listeners(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        # As RoadRunner: the plugin needs a plain listener, a TLS one, or both (an ssl section
        # with its own errors is reported as such, not as a missing address).
        if "address" not in original and "ssl" not in original:
            raise ValidationError(
                {
                    "address": [
                        "http needs an address to listen on, e.g. address: 127.0.0.1:8080 "
                        "(or an ssl section with address, key and cert for HTTPS only)"
                    ]
                }
            )

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> HttpConfig:
        # TLS only: no plain listener, said by an empty address (port 0 is never bound).
        data["address"], data["host"], data["port"] = data.get("address", ("", "", 0))
        warn_unusable_middleware(data.get("middleware", []), data, KNOWN_MIDDLEWARE)
        return HttpConfig(**data)
