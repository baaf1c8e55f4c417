"""RoadRunner's ``status`` plugin: ``/health``, ``/ready`` and ``/jobs`` for k8s-style probes.

The server asks ``sources()`` for the current plugins on every request (so a plugin started or
stopped later is seen at once) and probes them in the request's greenlet; a probe that asks an
actor (``Pool.workers``) blocks only that greenlet.  After :meth:`StatusServer.shutting_down`,
``/ready`` and ``/jobs`` answer 503 ``service is shutting down`` without probing anything, so a
load balancer stops sending traffic before the pools drain; ``/health`` answers the same text
with 200 (RoadRunner's behaviour: the process is still alive).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from actors.status.endpoint import Answer, Endpoint
from actors.status.probe import PluginProbe
from actors.status.report import encode, evaluate

__all__ = ["JOB_KEYS", "StatusServer"]

log = logging.getLogger("greenrunner.status")

#: Go's sniffed type for a JSON body written without a Content-Type.
_SNIFFED = [("Content-Type", "text/plain; charset=utf-8")]
#: The key order of RoadRunner's ``JobsReport`` and the value each key takes when missing.
JOB_KEYS: tuple[tuple[str, Any], ...] = (
    ("pipeline", ""),
    ("priority", 0),
    ("ready", False),
    ("queue", ""),
    ("active", 0),
    ("delayed", 0),
    ("reserved", 0),
    ("driver", ""),
    ("error_message", ""),
)

JobsSource = Callable[[], Sequence[Mapping[str, Any]]]


def _error(status: int, text: str) -> Answer:
    """Go's ``http.Error``: plain text, a newline, ``nosniff``."""
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    return status, headers, (text + "\n").encode("utf-8")


def _job_row(state: Mapping[str, Any]) -> dict[str, Any]:
    """One ``JobsReport``; keys may also be Go field names (``Pipeline``, ``ErrorMessage``)."""
    folded = {str(k).replace("_", "").lower(): v for k, v in state.items()}
    return {key: folded.get(key.replace("_", ""), default) for key, default in JOB_KEYS}


class StatusServer:
    """``status.address`` → the probe endpoints.

    ``sources`` returns the probes by plugin name; ``jobs`` (optional) returns the jobs
    plugin's pipeline states as mappings with the keys of :data:`JOB_KEYS`.  Without it,
    ``/jobs`` answers ``unavailable_status_code`` with ``jobs plugin not found``.
    """

    def __init__(
        self,
        address: str,
        sources: Callable[[], Mapping[str, PluginProbe]],
        unavailable_status_code: int = 503,
        check_timeout: float = 60.0,
        jobs: JobsSource | None = None,
    ) -> None:
        if not 100 <= unavailable_status_code <= 999:
            raise ValueError(
                f"unavailable_status_code must be an HTTP status (100..999), "
                f"got {unavailable_status_code}"
            )
        self.sources = sources
        self.jobs = jobs
        self.unavailable_status_code = unavailable_status_code
        self._stopping = False
        self._endpoint = Endpoint(address, self.route, timeout=check_timeout, logger=log)

    @property
    def address(self) -> tuple[str, int]:
        """The bound address (the real port when 0 was asked)."""
        return self._endpoint.address

    @property
    def stopping(self) -> bool:
        """True once :meth:`shutting_down` was called."""
        return self._stopping

    def start(self) -> StatusServer:
        """Bind and serve; raises ``OSError`` (e.g. address in use) for the caller to report."""
        self._endpoint.start()
        log.debug("status: listening on %s:%d", *self.address)
        return self

    def shutting_down(self) -> None:
        """From now on ``/ready`` and ``/jobs`` answer 503 at once (call it first on stop)."""
        self._stopping = True

    def stop(self, timeout: float = 1.0) -> None:
        """Close the listener; answers in progress get ``timeout`` seconds."""
        self._stopping = True
        self._endpoint.stop(timeout)

    # -- routing -------------------------------------------------------------------------

    def route(self, path: str, query: dict[str, list[str]]) -> Answer:
        """Answer one request (any method, like Go's ``ServeMux`` routes)."""
        if path == "/health":
            if self._stopping:
                return _error(200, "service is shutting down")
            return self._check("health", query)
        if path == "/ready":
            if self._stopping:
                return _error(503, "service is shutting down")
            return self._check("ready", query)
        if path == "/jobs":
            if self._stopping:
                return _error(503, "service is shutting down")
            return self._jobs()
        return _error(404, "404 page not found")

    def _check(self, check: Any, query: dict[str, list[str]]) -> Answer:
        status, reports = evaluate(
            check, self.sources(), query.get("plugin", ()), self.unavailable_status_code
        )
        return status, _SNIFFED, encode(reports)

    def _jobs(self) -> Answer:
        if self.jobs is None:
            return _error(self.unavailable_status_code, "jobs plugin not found")
        try:
            states = self.jobs()
        except Exception:
            log.exception("status: reading the jobs state failed")
            return _error(self.unavailable_status_code, "jobs plugin not found")
        return 200, _SNIFFED, encode([_job_row(state) for state in states])
