"""Errors raised by relays, on both sides of the wire.

Standard library only: the worker SDK imports this module inside worker
processes.  The texts say what went wrong *and* what to do about it, because
the usual causes (a print on the pipes relay, a relay address PHP cannot
parse, a port already taken) are configuration mistakes that the person
reading the log has to fix.
"""

from __future__ import annotations

from relays.frame import FrameError, RelayClosedError

__all__ = [
    "FrameError",
    "ProtocolError",
    "RelayClosedError",
    "RelayDSNError",
    "RelayError",
    "RelayListenError",
    "RelayTimeoutError",
    "StdoutCorruptionError",
    "StreamStopped",
]

#: How much of the offending bytes an error message quotes.
QUOTE_LIMIT = 512


class RelayError(Exception):
    """Base of the relay errors, so callers can catch the whole family at once."""


class RelayDSNError(RelayError, ValueError):
    """A ``server.relay`` value that neither RoadRunner nor the PHP library accepts.

    Also a :class:`ValueError`, so config validation can treat it like any
    other bad value.
    """


class RelayListenError(RelayError, OSError):
    """The socket relay cannot listen (port taken, path in the way).

    Also an :class:`OSError`, the family callers already catch around
    ``bind``/``listen``.
    """


class RelayTimeoutError(RelayError, TimeoutError):
    """A worker did not connect or did not answer the handshake in time."""


class ProtocolError(RelayError):
    """The peer sent bytes that are not the goridge worker protocol.

    ``received`` keeps the raw bytes so that logs can show what the worker
    actually wrote, which is usually enough to identify the culprit.
    """

    def __init__(self, message: str, received: bytes = b"") -> None:
        super().__init__(message)
        self.received = received


class StdoutCorruptionError(ProtocolError):
    """A worker on the pipes relay wrote something other than frames to its stdout.

    On the pipes relay the worker's stdout *is* the response channel, so a
    single ``print`` (or a PHP ``echo`` before ``Worker::create()``) breaks
    it.  The message quotes the bytes so the user can find the print.
    """

    def __init__(self, received: bytes, pid: int | None = None, command: str = "") -> None:
        who = "the worker"
        if pid is not None and command:
            who = f"the worker (pid {pid}, command {command!r})"
        elif pid is not None:
            who = f"the worker (pid {pid})"
        elif command:
            who = f"the worker (command {command!r})"
        quoted = received[:QUOTE_LIMIT]
        extra = len(received) - QUOTE_LIMIT
        more = f" (+{extra} more bytes)" if extra > 0 else ""
        message = (
            f"{who} wrote non-protocol data to stdout: with the pipes relay stdout belongs "
            "to the relay, so logs and prints must go to stderr (create the Worker before "
            "printing anything; it redirects stdout to stderr). "
            "See https://docs.roadrunner.dev/error-codes/stdout-crc. "
            f"Received: {quoted!r}{more}"
        )
        super().__init__(message, received)
        self.pid = pid
        self.command = command


class StreamStopped(Exception):
    """The server cancelled the stream this worker was sending (the client went away).

    Raised by :meth:`relays.worker.Worker.respond`; the SDK has already closed
    the stream with an empty final frame, so the application only has to stop
    producing chunks.  Not a :class:`RelayError`: the relay is still healthy.
    """
