"""The worker's answer to a job: RoadRunner's jobs response protocol (``protocol/handler.go``).

The answer's body is JSON ``{"type": N, "data": {...}}``; its context is ignored:

====  =========================  ==================================================
type  meaning                    action
====  =========================  ==================================================
0     success (legacy)           ack
1     error (legacy)             requeue with ``headers`` after ``delay_seconds`` if
                                 ``requeue``, else ack
2     ACK                        ack
3     NACK                       nack (``requeue``, ``delay_seconds``)
4     REQUEUE                    requeue with ``headers`` after ``delay_seconds``
other                            ack, with a warning
====  =========================  ==================================================

An empty body is an ack (RoadRunner: "if response is nil or body is nil, just acknowledge").
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from actors.plugins.jobs.driver import Headers, Item

__all__ = ["ACK", "ERROR", "NACK", "NO_ERROR", "REQUEUE", "AnswerError", "apply_answer"]

log = logging.getLogger("greenrunner.jobs")

NO_ERROR, ERROR, ACK, NACK, REQUEUE = 0, 1, 2, 3, 4


class AnswerError(ValueError):
    """The body is not ``{"type": N, "data": ...}`` JSON; RoadRunner acks such a job."""


def _headers(value: Any) -> Headers:
    """``{"k": ["v"]}`` (a single string value is taken as a one-element list)."""
    if not isinstance(value, Mapping):
        return {}
    return {
        str(k): [str(x) for x in v] if isinstance(v, list) else [str(v)] for k, v in value.items()
    }


def _delay(data: Mapping[str, Any]) -> int:
    value = data.get("delay_seconds", 0)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def parse_answer(body: bytes) -> tuple[int, Mapping[str, Any]]:
    """``(type, data)``; :class:`AnswerError` when the body is not the protocol's JSON."""
    try:
        message = json.loads(body)
    except ValueError as exc:
        raise AnswerError(f"jobs_handle_response: {exc}") from None
    if not isinstance(message, dict):
        raise AnswerError(
            f"jobs_handle_response: expected a JSON object {{type, data}}, got {body[:64]!r}"
        )
    kind = message.get("type", 0)
    if not isinstance(kind, int) or isinstance(kind, bool) or kind < 0:
        raise AnswerError(f"jobs_handle_response: type must be an unsigned integer, got {kind!r}")
    data = message.get("data")
    return kind, data if isinstance(data, dict) else {}


def apply_answer(item: Item, body: bytes) -> None:
    """Ack, nack or requeue ``item`` as the worker's ``body`` says.

    Raises :class:`AnswerError` for a body that is not the protocol (the caller acks the job,
    as RoadRunner does, so a malformed answer cannot loop forever).
    """
    if not body:
        item.ack()
        return
    kind, data = parse_answer(body)
    if kind in (NO_ERROR, ACK):
        item.ack()
    elif kind == ERROR:
        log.error(
            "jobs protocol error",
            extra={"fields": {"ID": item.id, "error": str(data.get("message", ""))}},
        )
        if data.get("requeue"):
            item.requeue(_headers(data.get("headers")), _delay(data))
        else:
            item.ack()
    elif kind == NACK:
        item.nack(bool(data.get("requeue")), _delay(data))
    elif kind == REQUEUE:
        item.requeue(_headers(data.get("headers")), _delay(data))
    else:
        log.warning(
            "unknown response type, acknowledging the JOB",
            extra={"fields": {"ID": item.id, "type": kind}},
        )
        item.ack()
