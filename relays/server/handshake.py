"""The pid handshake: the first exchange on every relay, before any request.

It proves the worker speaks goridge, and over sockets the reported pid is what
ties an accepted connection to the process the server spawned.
"""

from __future__ import annotations

import gevent

from relays.control import parse_pid_answer, pid_request
from relays.errors import RelayTimeoutError
from relays.frame import FrameTooLargeError
from relays.server.base import Relay

__all__ = ["HANDSHAKE_MAX_PAYLOAD", "handshake"]


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
    after = relay.max_frame_size
    relay.max_frame_size = HANDSHAKE_MAX_PAYLOAD  # an untrusted peer until it answers
    try:
        with timer:
            relay.send(pid_request())
            try:
                frame = relay.receive()
            except FrameTooLargeError as exc:
                # Before the handshake a huge header is most likely text: quote it.
                raise relay._bad_frame(exc) from None
    except gevent.Timeout as exc:
        if exc is not timer:
            raise
        raise RelayTimeoutError(
            f"worker did not answer the pid handshake within {timeout:g}s "
            f"({relay.kind} relay, pid {relay.pid or 'unknown'})"
        ) from None
    finally:
        relay.max_frame_size = after
    return parse_pid_answer(frame)
