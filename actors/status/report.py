"""RoadRunner's status rules: which report and which HTTP status a probe result gives.

Pure functions, so every quirk of ``roadrunner-server/status`` (``health.go``, ``ready.go``) is
pinned here and tested without a socket.  The quirks kept on purpose (probes and dashboards were
written against them):

* a checker error on ``/health`` without ``?plugin=`` makes the report code AND the HTTP status
  ``unavailable_status_code``; with ``?plugin=`` the report says 500 and the HTTP status stays 200;
* on ``/ready`` it is the other way round: report 500 and HTTP 200 without ``?plugin=``, report
  500 and HTTP ``unavailable_status_code`` with it;
* a plugin that is not available (``None``) is reported with ``unavailable_status_code`` but does
  not change the HTTP status; a code outside 100..400 and below 500 (401..499) neither;
* a requested plugin that is not registered is skipped: the answer can be ``[]`` with 200.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from actors.status.probe import PluginProbe

__all__ = ["Check", "encode", "evaluate", "report"]

log = logging.getLogger("greenrunner.status")

Check = Literal["health", "ready"]

_INTERNAL = 500


def report(name: str, code: int, message: str = "") -> dict[str, Any]:
    """One entry of the JSON array, keys in Go's field order."""
    return {"plugin_name": name, "error_message": message, "status_code": code}


def evaluate(
    check: Check,
    probes: Mapping[str, PluginProbe],
    plugins: Iterable[str],
    unavailable: int,
) -> tuple[int, list[dict[str, Any]]]:
    """Probe ``plugins`` (every registered one when empty) → ``(http_status, reports)``."""
    requested = list(plugins)
    selected = bool(requested)
    names = requested if selected else list(probes)
    status = 200
    reports: list[dict[str, Any]] = []
    for name in names:
        probe = probes.get(name)
        if probe is None:
            log.info("plugin does not support %s checks", check, extra={"fields": {"plugin": name}})
            continue
        try:
            code = probe.health() if check == "health" else probe.ready()
        except Exception as exc:
            # The three other path variants disagree upstream; see the module docstring.
            if check == "health" and not selected:
                status = unavailable
                reports.append(report(name, unavailable, str(exc)))
            else:
                if check == "ready" and selected:
                    status = unavailable
                reports.append(report(name, _INTERNAL, str(exc)))
            continue
        if code is None:
            message = (
                "plugin is not available, returned nil"
                if check == "health" and not selected
                else "plugin is not available"
            )
            reports.append(report(name, unavailable, message))
        elif code >= 500:
            status = unavailable
            reports.append(report(name, unavailable, "internal server error, see logs"))
        elif 100 <= code <= 400:
            reports.append(report(name, code))
        else:
            reports.append(report(name, code, "unexpected status code"))
    return status, reports


def encode(value: Any) -> bytes:
    """JSON as Go's ``encoding/json`` writes it: compact, UTF-8, ``<``, ``>``, ``&`` escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text.encode("utf-8")
