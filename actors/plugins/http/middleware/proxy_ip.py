"""``proxy_ip_parser``: the client's address from a trusted proxy's headers.

Upstream ``roadrunner-server/proxy_ip_parser``: when the TCP peer is inside one of
``http.trusted_subnets``, the remote address becomes the first address found in, in order,
``Forwarded`` (``for=``), ``X-Forwarded-For`` (its first element), ``X-Real-Ip``,
``True-Client-Ip``, ``Cf-Connecting-Ip``.  An untrusted peer's headers are ignored, so a client
cannot forge its address.  The worker's ``remoteAddr`` and the access log show the result.
"""

from __future__ import annotations

import ipaddress
import re

from actors.plugins.http.server.listener import Handler
from actors.plugins.http.server.request import HttpRequest
from actors.plugins.http.server.writer import Writer

__all__ = ["middleware", "resolve_ip"]

#: Upstream's pattern: the value after the first ``for=``, up to ``;``, ``,``, a space or ``|``.
_FORWARDED_FOR = re.compile(r"(?i)(?:for=)([^(;|,| )]+)")
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Headers read, in upstream's order (lower-case: the request keeps names as received).
_SIMPLE = ("x-real-ip", "true-client-ip", "cf-connecting-ip")


def _first(headers: list[tuple[str, str]], name: str) -> str:
    """The first non-empty value of ``name`` (lower-case), Go's ``Header.Get``."""
    for key, value in headers:
        if key.lower() == name:
            return value
    return ""


def _host_only(value: str) -> str:
    """``[::1]:80`` → ``::1``, ``1.2.3.4:80`` → ``1.2.3.4``: what RoadRunner's ``FetchIP``
    leaves of an address with a port; a bare IPv6 address is kept whole."""
    if value.startswith("["):
        end = value.find("]")
        return value[1:end] if end > 0 else value
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


def resolve_ip(headers: list[tuple[str, str]]) -> str:
    """The client address a trusted proxy reports, or ``""`` when its headers name none."""
    forwarded = _first(headers, "forwarded")
    if forwarded:
        match = _FORWARDED_FOR.search(forwarded)
        # Upstream: a Forwarded header without for= ends the search (no fallback to XFF).
        return _host_only(match.group(1).strip('"')) if match else ""
    xff = _first(headers, "x-forwarded-for")
    if xff:
        return xff.split(",", 1)[0].strip()
    for name in _SIMPLE:
        value = _first(headers, name)
        if value:
            return value.strip()
    return ""


def middleware(trusted_subnets: list[str], next_handler: Handler) -> Handler:
    """Replace ``req.remote_addr``'s host when the peer is trusted and a header names a client."""
    networks: list[_Network] = [ipaddress.ip_network(s, strict=False) for s in trusted_subnets]
    #: Peer host → trusted?  Peers are few (proxies, load balancers): parse each once.
    verdicts: dict[str, bool] = {}

    def trusted(host: str) -> bool:
        verdict = verdicts.get(host)
        if verdict is None:
            try:
                ip = ipaddress.ip_address(host.split("%", 1)[0])
            except ValueError:
                verdict = False  # a unix socket peer or something unparseable: not trusted
            else:
                if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
                    ip = ip.ipv4_mapped  # ::ffff:10.0.0.1 on a dual-stack listener, as Go does
                verdict = any(ip in net for net in networks if net.version == ip.version)
            if len(verdicts) < 4096:  # bounded: a flood of direct clients must not grow it
                verdicts[host] = verdict
        return verdict

    def parse_proxy_ip(req: HttpRequest, resp: Writer) -> None:
        host, port = req.remote_addr
        if trusted(host):
            resolved = resolve_ip(req.headers)
            if resolved:
                req.remote_addr = (resolved, port)
        next_handler(req, resp)

    return parse_proxy_ip
