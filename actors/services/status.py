"""``status.Status`` / ``status.Ready``: the probes of the status plugin, over RPC.

The PHP client sends protobuf (``status.v1.Request{string plugin = 1}``) and reads
``status.v1.Response{int64 code = 1; string message = 2}``; the same HTTP-like codes
``/health`` and ``/ready`` use. Served when the config has a ``status`` section.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from actors.status import PluginProbe
from relays import proto

__all__ = ["StatusService", "decode_request", "encode_response"]


def decode_request(body: bytes | None) -> str:
    """The plugin name of a ``status.v1.Request`` (an empty message names none)."""
    for number, wire, value in proto.fields(body or b""):
        if number == 1 and wire == proto.LEN and isinstance(value, bytes):
            return value.decode("utf-8", "replace")
    return ""


def encode_response(code: int, message: str = "") -> bytes:
    """A ``status.v1.Response``; zero fields are left out, as protobuf does."""
    out = bytearray()
    if code:
        proto.put_varint(out, (1 << 3) | proto.VARINT)
        proto.put_varint(out, code)
    if message:
        proto.put_bytes(out, 2, message.encode())
    return bytes(out)


class StatusService:
    """RoadRunner's ``status`` RPC service over the same probes as the HTTP endpoints."""

    def __init__(self, probes: Callable[[], Mapping[str, PluginProbe]]) -> None:
        self._probes = probes

    def _code(self, body: bytes | None, ready: bool) -> bytes:
        name = decode_request(body)
        probe = self._probes().get(name)
        if probe is None:
            raise LookupError(f"no such plugin: {name}")
        code = probe.ready() if ready else probe.health()
        if code is None:
            return encode_response(0, "plugin is not available")
        return encode_response(code)

    def Status(self, body: bytes | None) -> bytes:
        """Is the plugin alive (``/health``): 200, or 503 when no worker is."""
        return self._code(body, ready=False)

    def Ready(self, body: bytes | None) -> bytes:
        """Can the plugin take work now (``/ready``): 200, or 503 when no worker is free."""
        return self._code(body, ready=True)
