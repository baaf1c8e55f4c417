"""What the tcp plugin and its workers say to each other (RoadRunner's ``handler/events.go``).

The server sends a JSON context ``{"remote_addr", "server", "uuid", "event"}``
(keys in that order, Go's ``encoding/json`` escaping) with the connection's
bytes as the body; the worker answers with a plain ASCII word in the context
part and the bytes to write in the body.
"""

from __future__ import annotations

import json
import socket
from typing import Final

__all__ = [
    "ANSWERS",
    "CLOSE",
    "CONTINUE",
    "EVENT_CLOSE",
    "EVENT_CONNECTED",
    "EVENT_DATA",
    "WRITE",
    "WRITECLOSE",
    "event_contexts",
    "format_addr",
]

#: Events, the ``event`` key of the context.
EVENT_CONNECTED: Final = "CONNECTED"
EVENT_DATA: Final = "DATA"
EVENT_CLOSE: Final = "CLOSE"

#: Answers, the whole context part of the worker's reply (compared byte for byte).
WRITE: Final = b"WRITE"
WRITECLOSE: Final = b"WRITECLOSE"
CONTINUE: Final = b"CONTINUE"
CLOSE: Final = b"CLOSE"
ANSWERS: Final = (WRITE, WRITECLOSE, CONTINUE, CLOSE)

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _go_json(value: dict[str, str]) -> bytes:
    """``json.Marshal``'s bytes: compact, UTF-8, with <, >, &, U+2028 and U+2029 escaped."""
    text = _ENCODER.encode(value)
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return text.encode("utf-8")


def event_contexts(remote_addr: str, server: str, uuid: str) -> dict[str, bytes]:
    """The three contexts of one connection, built once (they differ only by ``event``)."""
    return {
        event: _go_json(
            {"remote_addr": remote_addr, "server": server, "uuid": uuid, "event": event}
        )
        for event in (EVENT_CONNECTED, EVENT_DATA, EVENT_CLOSE)
    }


def format_addr(sock: socket.socket) -> str:
    """The peer as Go's ``net.TCPAddr.String()`` writes it: ``ip:port``, ``[ipv6]:port``."""
    try:
        peer = sock.getpeername()
    except OSError:
        return ""
    host, port = peer[0], peer[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
