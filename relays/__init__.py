"""Goridge relays and the Python worker SDK.

Everything importable from here is standard-library only, so a worker
process needs neither gevent nor the server: ``from relays import Worker,
Payload``.  The server-side relays (gevent) live in :mod:`relays.pipe` and
:mod:`relays.socket` and are imported explicitly by the server.
"""

from relays.dsn import RelayAddress, parse_relay_dsn
from relays.errors import (
    ProtocolError,
    RelayDSNError,
    RelayError,
    RelayListenError,
    RelayTimeoutError,
    StdoutCorruptionError,
    StreamStopped,
)
from relays.frame import Frame, FrameError, RelayClosedError
from relays.payload import Payload
from relays.worker import Worker

__all__ = [
    "Frame",
    "FrameError",
    "Payload",
    "ProtocolError",
    "RelayAddress",
    "RelayClosedError",
    "RelayDSNError",
    "RelayError",
    "RelayListenError",
    "RelayTimeoutError",
    "StdoutCorruptionError",
    "StreamStopped",
    "Worker",
    "parse_relay_dsn",
]
