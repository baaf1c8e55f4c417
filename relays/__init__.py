"""Goridge relays and the Python worker SDK.

Everything importable from here is standard-library only, so a worker
process needs neither gevent nor the server: ``from relays import Worker,
Payload``.  The SDK modules (this package's top level: :mod:`relays.worker`,
:mod:`relays.http`, :mod:`relays.wsgi`, and the codecs they use) must never import
gevent, pykka or marshmallow (``tests/relays/test_sdk_boundary.py`` checks it); the
server-side relays (gevent) live in :mod:`relays.server` and are imported by the server only.
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
