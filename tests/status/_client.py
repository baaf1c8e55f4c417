"""A blocking HTTP client for the status/metrics endpoints, run in the hub's threadpool.

The servers run on the test's gevent hub without monkey-patching, so ``http.client`` runs in a
real thread and the test greenlet waits cooperatively while the server keeps serving.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable
from typing import Any

import gevent

Addr = tuple[str, int]


def call(fn: Callable[..., Any], *args: Any) -> Any:
    """Run blocking ``fn(*args)`` in a real thread."""
    return gevent.get_hub().threadpool.apply(fn, args)


def _get(addr: Addr, target: str, method: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(addr[0], addr[1], timeout=20)
    try:
        conn.request(method, target)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def get(addr: Addr, target: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """``(status, lower-cased headers, body)`` of one request on a fresh connection."""
    return call(_get, addr, target, method)  # type: ignore[no-any-return]
