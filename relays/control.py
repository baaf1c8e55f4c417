"""Goridge control frames: the one place they are built and parsed.

Both ends use these bytes (the server in :mod:`relays.server`, the SDK in
:mod:`relays.worker`), so they are defined once, standard library only.
The protocol facts behind each one are in ``docs/protocol.md`` ("Control frames").
"""

from __future__ import annotations

import json
import os

from relays.errors import ProtocolError
from relays.frame import CODEC_JSON, CONTROL, PONG, STOP, Frame, encode_frame

__all__ = [
    "PONG_FRAME",
    "STOP_COMMAND",
    "STOP_CONTEXT",
    "STREAM_STOP_FRAME",
    "parse_pid_answer",
    "pid_reply",
    "pid_request",
]

#: A worker's "replace me" answer carries this context and an empty body; the server
#: sends the same JSON as a CONTROL frame to ask a worker to exit. Compared byte for
#: byte, as RoadRunner does.
STOP_CONTEXT = b'{"stop":true}'
#: Server -> worker: exit (the SDK's ``wait_payload`` returns None).
STOP_COMMAND = encode_frame(STOP_CONTEXT, CONTROL | CODEC_JSON)
#: Server -> worker: the answer to a stream frame carrying PING.
PONG_FRAME = encode_frame(b"", 0, PONG)
#: Server -> worker: cancel the stream the worker is sending.
STREAM_STOP_FRAME = encode_frame(b"", 0, STOP)


def pid_request() -> bytes:
    """Server -> worker: the pid handshake, carrying the server's pid as RoadRunner does."""
    return encode_frame(
        json.dumps({"pid": os.getpid()}, separators=(",", ":")).encode(), CONTROL | CODEC_JSON
    )


def pid_reply() -> bytes:
    """Worker -> server: the answer to the pid handshake, with this process's pid."""
    return encode_frame(json.dumps({"pid": os.getpid()}, separators=(",", ":")).encode(), CONTROL)


def parse_pid_answer(frame: Frame) -> int:
    """The pid a worker reported; :class:`ProtocolError` (quoting it) for anything else."""
    if not frame.is_control:
        raise ProtocolError(
            "unexpected response, header is missing, no CONTROL flag", frame.payload[:512]
        )
    try:
        answer = json.loads(frame.payload)
    except ValueError as exc:
        raise ProtocolError(
            f"bad pid handshake answer, JSON expected: {exc}", frame.payload[:512]
        ) from None
    pid = answer.get("pid") if isinstance(answer, dict) else None
    if type(pid) is not int:
        raise ProtocolError('bad pid handshake answer, expected {"pid":<int>}', frame.payload[:512])
    if pid <= 0:
        raise ProtocolError("pid should be greater than 0", frame.payload[:512])
    return pid
