"""RoadRunner's ``rr_*`` AMQP message headers: how a job travels through RabbitMQ.

A RoadRunner instance (``amqpjobs/item.go`` ``pack``) publishes every job with these seven
headers and the payload as the body; a consumer rebuilds the job from them (``unpack``).
Greenrunner writes and reads the same layout, so the two can share queues both ways.

Field types on the wire (AMQP table type letters): ``rr_id``, ``rr_job``, ``rr_pipeline`` are
strings (``S``); ``rr_headers`` is the JSON of the job's headers as bytes (``x``);
``rr_priority`` is an int64 (``l``); ``rr_auto_ack`` a bool (``t``); ``rr_delay`` is a Go
``int`` upstream, which amqp091-go writes as a 32-bit ``I``, while pika writes every Python
int as a 64-bit ``l``.
Readers on both sides take any integer width, so the ``rr_delay`` width does not matter.
"""

from __future__ import annotations

import datetime
import decimal
import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

import pika

from actors.plugins.jobs.driver import Headers

__all__ = [
    "AUTO_JOB",
    "CONTENT_TYPE",
    "RR_AUTO_ACK",
    "RR_DELAY",
    "RR_HEADERS",
    "RR_ID",
    "RR_JOB",
    "RR_KEYS",
    "RR_PIPELINE",
    "RR_PRIORITY",
    "Unpacked",
    "header_values",
    "pack",
    "properties",
    "unpack",
]

RR_ID = "rr_id"
RR_JOB = "rr_job"
RR_PIPELINE = "rr_pipeline"
RR_HEADERS = "rr_headers"
RR_DELAY = "rr_delay"
RR_PRIORITY = "rr_priority"
RR_AUTO_ACK = "rr_auto_ack"
#: The headers RoadRunner owns; they are not copied into the job's own headers.
RR_KEYS = frozenset({RR_ID, RR_JOB, RR_PIPELINE, RR_HEADERS, RR_DELAY, RR_PRIORITY, RR_AUTO_ACK})

#: The job name of a message that has no ``rr_job`` (published by something else).
AUTO_JOB = "deduced_by_rr"
#: The content type RoadRunner publishes with.
CONTENT_TYPE = "application/octet-stream"


def headers_json(headers: Headers) -> bytes:
    """The job's headers as ``rr_headers`` carries them: Go's ``json.Marshal`` of a
    ``map[string][]string`` (keys sorted, compact)."""
    return json.dumps(headers, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def pack(
    *,
    id: str,
    job: str,
    pipeline: str,
    headers: Headers,
    delay: int,
    priority: int,
    auto_ack: bool,
) -> dict[str, object]:
    """The AMQP header table of one job, as upstream ``pack`` builds it."""
    return {
        RR_ID: id,
        RR_JOB: job,
        RR_PIPELINE: pipeline,
        RR_HEADERS: headers_json(headers),
        RR_DELAY: int(delay),
        RR_PRIORITY: int(priority),
        RR_AUTO_ACK: bool(auto_ack),
    }


def properties(
    *,
    id: str,
    job: str,
    pipeline: str,
    headers: Headers,
    delay: int,
    priority: int,
    auto_ack: bool,
) -> pika.BasicProperties:
    """The message properties of one job as upstream publishes it: persistent, octet-stream,
    timestamped, with the :func:`pack` header table."""
    return pika.BasicProperties(
        content_type=CONTENT_TYPE,
        delivery_mode=2,
        timestamp=int(time.time()),
        headers=pack(
            id=id,
            job=job,
            pipeline=pipeline,
            headers=headers,
            delay=delay,
            priority=priority,
            auto_ack=auto_ack,
        ),
    )


@dataclass(slots=True)
class Unpacked:
    """A job rebuilt from a delivery's headers.  ``pipeline``/``priority`` are ``None``
    when the message did not say (the consuming pipeline's own are used)."""

    id: str
    job: str
    headers: Headers = field(default_factory=dict)
    pipeline: str | None = None
    delay: int = 0
    priority: int | None = None
    auto_ack: bool = False


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def unpack(table: Mapping[str, object] | None, log: logging.Logger) -> Unpacked:
    """Upstream ``unpack``: missing ``rr_id`` gets a new uuid, missing ``rr_job`` is
    :data:`AUTO_JOB`.  The job's headers are the message's other AMQP headers (converted
    as upstream ``convHeaders``) with ``rr_headers`` merged over them."""
    table = table or {}
    rr_id = table.get(RR_ID)
    rr_job = table.get(RR_JOB)
    out = Unpacked(
        id=rr_id if isinstance(rr_id, str) else str(uuid.uuid4()),
        job=rr_job if isinstance(rr_job, str) else AUTO_JOB,
    )
    headers: Headers = {}
    for key, value in table.items():
        if key not in RR_KEYS:
            _convert(headers, str(key), value, log)
    raw = table.get(RR_HEADERS)
    if isinstance(raw, bytes | str):
        try:
            decoded = json.loads(raw) if raw else None
        except ValueError:
            log.warning("amqp: rr_headers is not JSON (%r), continuing without it", raw[:100])
            decoded = None
        if isinstance(decoded, dict):
            for key, values in decoded.items():
                if isinstance(values, list):
                    headers[str(key)] = [str(v) for v in values]
    out.headers = headers
    pipeline = table.get(RR_PIPELINE)
    if isinstance(pipeline, str):
        out.pipeline = pipeline
    delay = table.get(RR_DELAY)
    if _is_int(delay):
        out.delay = int(delay)  # type: ignore[call-overload]
    elif delay is not None:
        log.warning("amqp: unknown rr_delay type %s, want an integer", type(delay).__name__)
    priority = table.get(RR_PRIORITY)
    if _is_int(priority):
        out.priority = int(priority)  # type: ignore[call-overload]
    elif priority is not None:
        log.warning("amqp: unknown rr_priority type %s, want an integer", type(priority).__name__)
    auto_ack = table.get(RR_AUTO_ACK)
    if isinstance(auto_ack, bool):
        out.auto_ack = auto_ack
    return out


def header_values(value: object, log: logging.Logger, key: str = "") -> list[str]:
    """One AMQP header value as RoadRunner's list of strings (upstream ``convHeaders``)."""
    out: Headers = {}
    _convert(out, key, value, log)
    return out.get(key, [])


def _convert(out: Headers, key: str, value: object, log: logging.Logger) -> None:
    """Append ``value`` under ``key``; nested tables spread their own keys (as upstream)."""
    if isinstance(value, bool):
        out[key] = ["true" if value else "false"]
    elif isinstance(value, int):
        out.setdefault(key, []).append(str(value))
    elif isinstance(value, float):
        out.setdefault(key, []).append(f"{value:.5f}")
    elif isinstance(value, str):
        out.setdefault(key, []).append(value)
    elif isinstance(value, bytes):
        out.setdefault(key, []).append(value.decode("utf-8", "replace"))
    elif isinstance(value, list):
        for item in value:
            _convert(out, key, item, log)
    elif isinstance(value, dict):
        for inner, item in value.items():
            _convert(out, str(inner), item, log)
    elif isinstance(value, decimal.Decimal):
        exponent = value.as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        out.setdefault(key, []).append(f"{value:.{places}f}")
    elif isinstance(value, datetime.datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
        out.setdefault(key, []).append(stamp.isoformat().replace("+00:00", "Z"))
    else:
        log.warning("amqp: unknown header type %s for %r, ignored", type(value).__name__, key)
