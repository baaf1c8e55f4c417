"""A stream's header block and body as the :class:`HttpRequest` every handler receives.

Go's HTTP/2 server does the same translation before RoadRunner sees the request: ``:authority``
becomes ``Host``, the ``cookie`` fields a client may split are joined with ``"; "``
(RFC 9113 §8.2.3), the protocol is ``HTTP/2.0``.
"""

from __future__ import annotations

from collections.abc import Iterable

from actors.plugins.http.server.request import HttpRequest

__all__ = ["RequestHeadError", "build_request", "header_list_size"]


class RequestHeadError(ValueError):
    """A header block that is not a valid request (a missing pseudo-header)."""


def header_list_size(headers: Iterable[tuple[bytes, bytes]]) -> int:
    """SETTINGS_MAX_HEADER_LIST_SIZE's measure: name + value + 32 bytes per field."""
    return sum(len(name) + len(value) + 32 for name, value in headers)


def build_request(
    headers: Iterable[tuple[bytes, bytes]],
    body: bytes,
    remote_addr: tuple[str, int],
    scheme: str,
) -> HttpRequest:
    """The request of one stream (``h2`` has already checked the header block's syntax)."""
    method = path = authority = None
    fields: list[tuple[str, str]] = []
    cookies: list[str] = []
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1")
        value = raw_value.decode("latin-1")
        if name[:1] == ":":
            if name == ":method":
                method = value
            elif name == ":path":
                path = raw_value
            elif name == ":authority":
                authority = value
            continue
        if name == "cookie":
            cookies.append(value)
            continue
        if name == "host" and authority is None:
            authority = value
            continue
        if name == "host":
            continue  # :authority wins (RFC 9113 §8.3.1)
        fields.append((name, value))
    if method is None or (path is None and method != "CONNECT"):
        raise RequestHeadError("a request needs :method and :path")
    if method == "CONNECT":
        raise RequestHeadError("CONNECT is not supported")
    assert path is not None
    host = authority or ""
    if host:
        fields.insert(0, ("host", host))
    if cookies:
        fields.append(("cookie", "; ".join(cookies)))
    if path[:1] == b"/" or path == b"*":
        path_part, _, query = path.partition(b"?")
    else:
        raise RequestHeadError(f"bad :path {path!r}: must start with /")
    return HttpRequest(
        method,
        path,
        path_part,
        query,
        "HTTP/2.0",
        fields,
        body,
        remote_addr,
        True,
        host,
        scheme,
    )
