"""The server side of a relay: the common contract and the pid handshake.

Both relays (:mod:`relays.pipe`, :mod:`relays.socket`) are used from one
greenlet at a time (the one holding the worker), block only that greenlet,
and report a dead peer as :class:`~relays.frame.RelayClosedError` so the pool
needs a single code path for "the worker went away".
"""

from __future__ import annotations

import json
import logging
import os
import time

import gevent

from relays.errors import ProtocolError, RelayTimeoutError
from relays.frame import (
    CODEC_JSON,
    CONTROL,
    HEADER_SIZE,
    PONG,
    STOP,
    Frame,
    FrameError,
    FrameReader,
    RelayClosedError,
    encode_frame,
    parse_header,
)

__all__ = [
    "PONG_FRAME",
    "STOP_COMMAND",
    "STREAM_STOP_FRAME",
    "WORKER_STOP_CONTEXT",
    "Relay",
    "handshake",
    "pid_request",
]

log = logging.getLogger("greenrunner.server")

#: M7: ask a worker to exit (its ``wait_payload`` returns None).
STOP_COMMAND = encode_frame(b'{"stop":true}', CONTROL | CODEC_JSON)
#: M8: the answer to a stream frame carrying PING.
PONG_FRAME = encode_frame(b"", 0, PONG)
#: M9: cancel the stream the worker is sending.
STREAM_STOP_FRAME = encode_frame(b"", 0, STOP)
#: M6: the context of a worker's "replace me" response (its body is empty);
#: compare byte for byte, as RoadRunner does.
WORKER_STOP_CONTEXT = b'{"stop":true}'


def pid_request() -> bytes:
    """M1, carrying the server's own pid as RoadRunner does (PHP only needs it non-zero)."""
    return encode_frame(
        json.dumps({"pid": os.getpid()}, separators=(",", ":")).encode(), CONTROL | CODEC_JSON
    )


class Relay:
    """What the pool needs from a relay, whatever carries the bytes.

    ``pid`` is the worker's pid (the spawned one for pipes, the reported one
    for sockets); ``kind`` is ``pipes``, ``tcp`` or ``unix``.  Subclasses
    provide ``_recv``/``send``/``close``; framing and the diagnosis of bytes
    that are not frames live here so that both relays report them alike.
    """

    pid: int = 0
    kind: str = ""
    #: After a bad frame, how long (at most) to keep reading to quote the culprit's output.
    drain_timeout: float = 1.0
    #: ...and how long a silence ends that early.
    drain_quiet: float = 0.25
    #: ...and how many bytes are enough.
    drain_limit: int = 4096

    def __init__(self) -> None:
        self._reader = FrameReader(self._recv)
        self._closed = False

    def _recv(self, n: int) -> bytes:
        """Up to ``n`` bytes, ``b""`` at EOF; blocks only the calling greenlet."""
        raise NotImplementedError

    def send(self, data: bytes) -> None:
        """Write whole frame bytes; yields to the hub while the peer is slow to read."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the descriptors; a greenlet blocked on this relay gets RelayClosedError."""
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    def receive(self) -> Frame:
        """Read the next frame; :class:`RelayClosedError` when the worker is gone.

        Bytes that are not a frame raise :class:`ProtocolError` (on pipes
        :class:`StdoutCorruptionError`) quoting what the worker wrote, which
        is what the user needs to find the offending print.
        """
        if self._closed:
            raise RelayClosedError("relay closed")
        try:
            return self._reader.read_frame()
        except FrameError as exc:
            raise self._bad_frame(exc) from None

    def _bad_frame(self, exc: FrameError) -> Exception:
        data = self._reader.buffered or exc.received
        if exc.reason.startswith("relay closed in the middle of a frame"):
            try:
                parse_header(data[:HEADER_SIZE])
            except FrameError:
                pass  # not even a header: the worker wrote text, then exited
            else:
                return RelayClosedError(
                    f"{self._who()} closed the relay in the middle of a frame "
                    f"({len(data)} bytes received)"
                )
        if data[:HEADER_SIZE] == b"Could not op":
            # PHP CLI's "Could not open input file: X" (a wrong server.command path).
            data += self._drain(limit=65536)
            text = data.decode("utf-8", "backslashreplace").strip()
            return ProtocolError(
                f"worker (pid {self.pid}{self._describe()}) could not start: {text}", data
            )
        data += self._drain(limit=max(0, self.drain_limit - len(data)))
        return self._corruption(exc, data)

    def _describe(self) -> str:
        return ""

    def _who(self) -> str:
        # Socket peers have no pid until they pass the handshake.
        return f"worker (pid {self.pid})" if self.pid else "a peer that has not done the handshake"

    def _corruption(self, exc: FrameError, data: bytes) -> Exception:
        return ProtocolError(
            f"{self._who()} sent bytes that are not a goridge frame on the "
            f"{self.kind} relay ({exc.reason}); received: {data[:512]!r}",
            data,
        )

    def _drain(self, limit: int) -> bytes:
        """Read what the worker keeps writing, briefly, without blocking the hub.

        Stops at EOF, after ``limit`` bytes, after ``drain_quiet`` seconds of
        silence or ``drain_timeout`` seconds in all, whichever comes first.  A
        caller's timeout firing meanwhile ends the drain too: the diagnosis is
        more useful than the timeout.
        """
        out = bytearray()
        deadline = time.monotonic() + self.drain_timeout
        try:
            while len(out) < limit:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                chunk = None
                with gevent.Timeout(min(remaining, self.drain_quiet), False):
                    chunk = self._recv(limit - len(out))
                if not chunk:
                    break
                out += chunk
        except (gevent.Timeout, RelayClosedError, OSError):
            pass
        return bytes(out)


#: A pid answer is a few bytes of JSON; anything far bigger is not a worker.
HANDSHAKE_MAX_PAYLOAD = 4096


def handshake(relay: Relay, timeout: float) -> int:
    """Send the pid request and return the pid the worker reports.

    Proves the worker speaks goridge before it is handed any request; over
    sockets the reported pid is also what ties the connection to the spawned
    process.  Raises :class:`RelayTimeoutError` if no answer comes within
    ``timeout`` and :class:`ProtocolError` for a wrong answer.  On any failure
    the relay is closed: nobody can use it any more, and a pipes relay holds
    descriptors of its own that a caller handling the error would leak.
    """
    try:
        return _ask_pid(relay, timeout)
    except BaseException:
        relay.close()
        raise


def _ask_pid(relay: Relay, timeout: float) -> int:
    timer = gevent.Timeout(timeout)
    reader = relay._reader
    reader.max_payload = HANDSHAKE_MAX_PAYLOAD  # an untrusted peer until it answers
    try:
        with timer:
            relay.send(pid_request())
            frame = relay.receive()
    except gevent.Timeout as exc:
        if exc is not timer:
            raise
        raise RelayTimeoutError(
            f"worker did not answer the pid handshake within {timeout:g}s "
            f"({relay.kind} relay, pid {relay.pid or 'unknown'})"
        ) from None
    finally:
        reader.max_payload = None
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
