"""The ``jobs.v1`` protobuf messages (``roadrunner-server/api`` ``proto/jobs/v1/jobs.proto``).

PHP's producer (``spiral/roadrunner-jobs``) calls ``jobs.Push`` & co. with the protobuf
codec; the server decodes these messages and the Python producer (:mod:`relays.jobs`)
encodes them, so both sides share this one module.  Hand-written on :mod:`relays.proto`
(a handful of messages do not justify a protobuf runtime); standard library only.

Jobs are plain dicts here, shaped like the message: ``{"job", "id", "payload", "headers",
"options": {"priority", "pipeline", "delay", "auto_ack", "topic", "metadata", "offset",
"partition"}}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from relays import proto

__all__ = [
    "OPTION_FIELDS",
    "decode_declare",
    "decode_job",
    "decode_jobs",
    "decode_pipelines",
    "decode_stats",
    "encode_declare",
    "encode_job",
    "encode_jobs",
    "encode_pipelines",
    "encode_stats",
]

#: ``Options``: field number → (name, kind); kinds: int64, bool, str, int32.
OPTION_FIELDS: dict[int, tuple[str, str]] = {
    1: ("priority", "int"),
    2: ("pipeline", "str"),
    3: ("delay", "int"),
    6: ("auto_ack", "bool"),
    7: ("topic", "str"),
    8: ("metadata", "str"),
    9: ("offset", "int"),
    10: ("partition", "int"),
}
_OPTION_NUMBERS = {name: (number, kind) for number, (name, kind) in OPTION_FIELDS.items()}

#: ``Stat``: field number → (name, kind).
_STAT_FIELDS: dict[int, tuple[str, str]] = {
    1: ("pipeline", "str"),
    2: ("driver", "str"),
    3: ("queue", "str"),
    4: ("active", "int"),
    5: ("delayed", "int"),
    6: ("reserved", "int"),
    7: ("ready", "bool"),
    8: ("priority", "uint"),
}


def _int64(value: int) -> int:
    """A varint read as a signed 64-bit integer (protobuf's int64/int32)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise proto.ProtoError(f"string field contains invalid UTF-8: {exc}") from None


def _scalar(kind: str, wire: int, value: int | bytes) -> Any:
    """One scalar field's value for ``kind``; a wire type that does not fit is an error."""
    if kind == "str":
        if wire != proto.LEN or not isinstance(value, bytes):
            raise proto.ProtoError("string field with a non length-delimited wire type")
        return _text(value)
    if wire != proto.VARINT or not isinstance(value, int):
        raise proto.ProtoError("integer field with a non varint wire type")
    if kind == "bool":
        return value != 0
    if kind == "uint":
        return value
    return _int64(value)


def _put_scalar(out: bytearray, number: int, kind: str, value: Any) -> None:
    """Append a scalar field unless it has its zero value (proto3 leaves those out)."""
    if not value:
        return
    if kind == "str":
        proto.put_bytes(out, number, str(value).encode("utf-8"))
        return
    proto.put_varint(out, number << 3 | proto.VARINT)
    proto.put_varint(out, int(value))


# -- Job ------------------------------------------------------------------------------------


def decode_job(data: bytes) -> dict[str, Any]:
    """One ``Job`` message; :class:`~relays.proto.ProtoError` when it is malformed."""
    job: dict[str, Any] = {"job": "", "id": "", "payload": b"", "headers": {}, "options": {}}
    for number, wire, value in proto.fields(data):
        if number in (1, 2):
            job["job" if number == 1 else "id"] = _scalar("str", wire, value)
        elif number == 3:
            if not isinstance(value, bytes):
                raise proto.ProtoError("payload with a non length-delimited wire type")
            job["payload"] = value
        elif number == 4:
            if not isinstance(value, bytes):
                raise proto.ProtoError("headers entry with a non length-delimited wire type")
            key, values = proto.decode_header_map_entry(value)
            job["headers"][_text(key)] = [_text(v) for v in values]
        elif number == 5:
            if not isinstance(value, bytes):
                raise proto.ProtoError("options with a non length-delimited wire type")
            job["options"] = _decode_options(value)
    return job


def _decode_options(data: bytes) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for number, wire, value in proto.fields(data):
        spec = OPTION_FIELDS.get(number)
        if spec is not None:
            options[spec[0]] = _scalar(spec[1], wire, value)
    return options


def encode_job(job: Mapping[str, Any]) -> bytes:
    """One ``Job`` message from a dict shaped like :func:`decode_job`'s result."""
    out = bytearray()
    _put_scalar(out, 1, "str", job.get("job", ""))
    _put_scalar(out, 2, "str", job.get("id", ""))
    payload = job.get("payload", b"")
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    if payload:
        proto.put_bytes(out, 3, bytes(payload))
    headers = job.get("headers") or {}
    proto.encode_header_map(
        out,
        4,
        [
            (str(k).encode("utf-8"), [str(v).encode("utf-8") for v in _as_list(vs)])
            for k, vs in headers.items()
        ],
    )
    options = bytearray()
    for name, value in (job.get("options") or {}).items():
        number, kind = _OPTION_NUMBERS[name]
        _put_scalar(options, number, kind, value)
    if options:
        proto.put_bytes(out, 5, bytes(options))
    return bytes(out)


def _as_list(values: Any) -> list[Any]:
    """A header value: a list of strings, or one string."""
    return [values] if isinstance(values, str) else list(values)


def decode_jobs(data: bytes) -> list[dict[str, Any]]:
    """``PushRequest`` (one job) or ``PushBatchRequest`` (many): every ``Job`` in field 1."""
    jobs = []
    for number, wire, value in proto.fields(data):
        if number == 1:
            if wire != proto.LEN or not isinstance(value, bytes):
                raise proto.ProtoError("job with a non length-delimited wire type")
            jobs.append(decode_job(value))
    return jobs


def encode_jobs(jobs: Iterable[Mapping[str, Any]]) -> bytes:
    """``PushRequest`` for one job, ``PushBatchRequest`` for several (same layout)."""
    out = bytearray()
    for job in jobs:
        proto.put_bytes(out, 1, encode_job(job))
    return bytes(out)


# -- Pipelines, DeclareRequest, Stats -------------------------------------------------------


def decode_pipelines(data: bytes) -> list[str]:
    """``Pipelines{repeated string pipelines = 1}``."""
    return [
        _scalar("str", wire, value) for number, wire, value in proto.fields(data) if number == 1
    ]


def encode_pipelines(names: Sequence[str]) -> bytes:
    """``Pipelines``; empty names are kept (repeated fields keep every element)."""
    out = bytearray()
    for name in names:
        proto.put_bytes(out, 1, name.encode("utf-8"))
    return bytes(out)


def decode_declare(data: bytes) -> dict[str, str]:
    """``DeclareRequest{map<string, string> pipeline = 1}``."""
    pipeline: dict[str, str] = {}
    for number, _wire, value in proto.fields(data):
        if number != 1 or not isinstance(value, bytes):
            continue
        key = text = ""
        for n, w, v in proto.fields(value):
            if n == 1:
                key = _scalar("str", w, v)
            elif n == 2:
                text = _scalar("str", w, v)
        pipeline[key] = text
    return pipeline


def encode_declare(pipeline: Mapping[str, Any]) -> bytes:
    """``DeclareRequest``; values are sent as text, as PHP's producer does."""
    out = bytearray()
    for key, value in pipeline.items():
        entry = bytearray()
        proto.put_bytes(entry, 1, str(key).encode("utf-8"))
        text = str(value).lower() if isinstance(value, bool) else str(value)
        proto.put_bytes(entry, 2, text.encode("utf-8"))
        proto.put_bytes(out, 1, bytes(entry))
    return bytes(out)


def encode_stats(stats: Iterable[Mapping[str, Any]]) -> bytes:
    """``Stats{repeated Stat stats = 1}`` from dicts with the ``Stat`` field names."""
    out = bytearray()
    for stat in stats:
        one = bytearray()
        for number, (name, kind) in _STAT_FIELDS.items():
            _put_scalar(one, number, kind, stat.get(name))
        proto.put_bytes(out, 1, bytes(one))
    return bytes(out)


def decode_stats(data: bytes) -> list[dict[str, Any]]:
    """``Stats`` as dicts with every ``Stat`` field (zero values filled in)."""
    stats = []
    for number, _wire, value in proto.fields(data):
        if number != 1 or not isinstance(value, bytes):
            continue
        stat: dict[str, Any] = {
            name: ("" if kind == "str" else False if kind == "bool" else 0)
            for name, kind in _STAT_FIELDS.values()
        }
        for n, w, v in proto.fields(value):
            spec = _STAT_FIELDS.get(n)
            if spec is not None:
                stat[spec[0]] = _scalar(spec[1], w, v)
        stats.append(stat)
    return stats
