"""``proxy_ip_parser``: the client's address from a trusted proxy's headers, never from others.

The test client connects from 127.0.0.1: inside RoadRunner's default trusted subnets, outside
a ``trusted_subnets`` of ``10.0.0.0/8`` only.
"""

from __future__ import annotations

import json

import pytest

from tests.support.http_client import request
from tests.support.hub import call

from .conftest import Start


def _remote(body: bytes, kind: str) -> str:
    seen = json.loads(body)
    return str(seen["remoteAddr"] if kind == "php" else seen["REMOTE_ADDR"])


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Forwarded-For": "203.0.113.7, 10.0.0.1"}, "203.0.113.7"),
        ({"Forwarded": 'for="[2001:db8::17]:4711";proto=https'}, "2001:db8::17"),
        ({"Forwarded": "for=198.51.100.2", "X-Forwarded-For": "203.0.113.7"}, "198.51.100.2"),
        ({"X-Real-Ip": "198.51.100.9"}, "198.51.100.9"),
        ({"True-Client-Ip": "198.51.100.10", "Cf-Connecting-Ip": "198.51.100.11"}, "198.51.100.10"),
        ({"Cf-Connecting-Ip": "198.51.100.11"}, "198.51.100.11"),
        ({}, "127.0.0.1"),
    ],
    ids=[
        "xff-first",
        "forwarded-v6",
        "forwarded-wins",
        "x-real-ip",
        "true-client-ip",
        "cf",
        "none",
    ],
)
def test_a_trusted_peer_names_the_client(mw: Start, headers: dict[str, str], expected: str) -> None:
    server = mw(["proxy_ip_parser"])  # default trusted subnets include 127.0.0.0/8
    r = call(request, server.addr, "GET", "/echo", None, headers)
    assert r.status == 200, r
    assert _remote(r.body, "wsgi") == expected


def test_each_worker_sees_the_resolved_address(mw: Start, kind: str) -> None:
    server = mw(["proxy_ip_parser"], kind, trusted_subnets=["127.0.0.1/32"])
    r = call(request, server.addr, "GET", "/echo", None, {"X-Forwarded-For": "203.0.113.7"})
    assert _remote(r.body, kind) == "203.0.113.7"


def test_an_untrusted_peer_cannot_forge_its_address(mw: Start, kind: str) -> None:
    server = mw(["proxy_ip_parser"], kind, trusted_subnets=["10.0.0.0/8", "::1/128"])
    headers = {"X-Forwarded-For": "203.0.113.7", "X-Real-Ip": "203.0.113.8"}
    r = call(request, server.addr, "GET", "/echo", None, headers)
    assert _remote(r.body, kind) == "127.0.0.1"


def test_without_the_middleware_headers_change_nothing(mw: Start) -> None:
    server = mw([])
    r = call(request, server.addr, "GET", "/echo", None, {"X-Forwarded-For": "203.0.113.7"})
    assert _remote(r.body, "wsgi") == "127.0.0.1"
