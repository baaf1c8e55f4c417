"""Waiting without blocking the gevent hub.

The servers under test run on the test's own hub (no monkey-patching). A blocking client
(``http.client``, a raw socket) therefore runs in a real thread of the hub's threadpool, and a
test that waits for a condition polls with ``gevent.sleep``: either way the server's greenlets
keep serving while the test waits.  Both also work in tests with no server on the hub.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import gevent

T = TypeVar("T")


def call(fn: Callable[..., T], *args: Any) -> T:
    """Run blocking ``fn(*args)`` in a real thread; the hub keeps serving meanwhile."""
    return gevent.get_hub().threadpool.apply(fn, args)


def spawn_call(fn: Callable[..., T], *args: Any) -> gevent.Greenlet:
    """Like :func:`call`, in the background: ``.get(timeout=...)`` collects the result."""
    return gevent.spawn(call, fn, *args)


def wait_for(
    predicate: Callable[[], T],
    timeout: float = 10.0,
    what: str | Callable[[], object] = "",
    step: float = 0.02,
) -> T:
    """Poll ``predicate`` cooperatively until it is truthy and return its value.

    Fails the test with an AssertionError after ``timeout`` seconds, so a condition that never
    comes cannot be overlooked by a caller.  The error names ``what`` was awaited (or the
    predicate); a callable ``what`` is called then, to report the state at the time of failure.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            described = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout}s waiting for {described or predicate}")
        gevent.sleep(step)
