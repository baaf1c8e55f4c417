"""The Python tcp worker SDK: the counterpart of PHP's ``spiral/roadrunner-tcp``.

A worker of the ``tcp`` plugin receives one request per connection event and
answers each with what to do with the connection::

    from relays.tcp import TcpEvent, TcpResponse, TcpWorker

    tcp = TcpWorker()
    while (request := tcp.wait_request()) is not None:
        if request.event is TcpEvent.CONNECTED:
            tcp.read()                      # nothing to say yet: keep reading
        elif request.event is TcpEvent.DATA:
            tcp.respond(request.body)       # echo, and keep reading
        else:
            tcp.close()                     # CLOSE: the answer is ignored

The bytes on the relay are PHP's exactly: the request context is RoadRunner's
JSON (``remote_addr``, ``server``, ``uuid``, ``event``), the answer's context
is the bare word (``WRITE``, ``WRITECLOSE``, ``CONTINUE``, ``CLOSE``) and its
frame carries ``CODEC_RAW``, as ``Worker::respond`` sends by default.
Standard library only: this runs inside worker processes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from relays.errors import ProtocolError
from relays.frame import CODEC_RAW
from relays.payload import Payload
from relays.worker import Worker

__all__ = ["TcpEvent", "TcpRequest", "TcpResponse", "TcpWorker"]


class TcpEvent(StrEnum):
    """What happened on the connection (PHP's ``TcpEvent``)."""

    CONNECTED = "CONNECTED"
    DATA = "DATA"
    CLOSE = "CLOSE"
    #: An event name this SDK does not know (PHP maps it to ``TcpEvent::Unknown``).
    UNKNOWN = "UNKNOWN"


class TcpResponse(StrEnum):
    """What the server does with the connection after the answer (PHP's ``TcpResponse``)."""

    #: Write the body, keep reading (PHP ``TcpResponse::Respond``).
    RESPOND = "WRITE"
    #: Write the body, then close (PHP ``TcpResponse::RespondClose``).
    RESPOND_CLOSE = "WRITECLOSE"
    #: Write nothing, keep reading (PHP ``TcpResponse::Read``).
    READ = "CONTINUE"
    #: Close without writing (PHP ``TcpResponse::Close``).
    CLOSE = "CLOSE"


@dataclass(frozen=True, slots=True)
class TcpRequest:
    """One event of one connection (PHP's ``Request``)."""

    remote_addr: str
    event: TcpEvent
    body: bytes
    connection_uuid: str
    server: str


class TcpWorker:
    """Waits for connection events and answers them; one event at a time, like PHP's."""

    def __init__(self, worker: Worker | None = None) -> None:
        self.worker = worker if worker is not None else Worker.create()

    def wait_request(self) -> TcpRequest | None:
        """The next event, or ``None`` when the server asks the worker to stop."""
        payload = self.worker.wait_payload()
        if payload is None:
            return None
        try:
            context = json.loads(payload.context)
        except ValueError as exc:
            raise ProtocolError(
                f"tcp request context is not JSON: {exc}", payload.context[:512]
            ) from exc
        if not isinstance(context, dict):
            raise ProtocolError("tcp request context is not a JSON object", payload.context[:512])
        try:
            event = TcpEvent(context.get("event", "UNKNOWN"))
        except ValueError:
            event = TcpEvent.UNKNOWN
        return TcpRequest(
            remote_addr=str(context.get("remote_addr", "")),
            event=event,
            body=payload.body,
            connection_uuid=str(context.get("uuid", "")),
            server=str(context.get("server", "")),
        )

    def respond(self, body: bytes, response: TcpResponse = TcpResponse.RESPOND) -> None:
        """Answer the current event: ``body`` is written to the client unless the
        response is ``READ`` or ``CLOSE``."""
        self.worker.respond(Payload(body, response.value.encode("ascii")), codec=CODEC_RAW)

    def read(self) -> None:
        """Write nothing and wait for more data (PHP's ``read()``)."""
        self.respond(b"", TcpResponse.READ)

    def close(self) -> None:
        """Close the connection (PHP's ``close()``)."""
        self.respond(b"", TcpResponse.CLOSE)
