"""Errors of the RPC server, split by what the server does with them.

A :class:`CallError` becomes an ERROR reply and the connection keeps serving (net/rpc does
the same for an unknown method or an argument that does not decode).  A :class:`WireError`
means the peer does not speak the goridge RPC protocol: only its connection is closed.
"""

from __future__ import annotations

__all__ = ["CallError", "RpcListenError", "ServiceError", "WireError"]


class CallError(Exception):
    """One call cannot be served; the text is sent back verbatim in an ERROR reply."""


class ServiceError(CallError):
    """Raised by a service method for an expected failure (``no such plugin: foo``).

    The server replies with the message and logs it at debug level only; any other
    exception from a method is replied to as well, but logged with its traceback,
    since it is a bug in the method.
    """


class WireError(Exception):
    """A frame that is not a goridge RPC request (wrong option count, bad lengths)."""


class RpcListenError(OSError):
    """The RPC server cannot listen (bad ``rpc.listen``, port taken, path in the way).

    An :class:`OSError`, like the ``bind`` failures it reports, so callers that already
    catch those keep working.
    """
