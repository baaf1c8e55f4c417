"""The ``server.relay`` value (also exported to workers as ``RR_RELAY``).

The accepted forms are the intersection of what RoadRunner listens on and
what the PHP goridge library can connect to, so a config that passes here
works with unmodified PHP workers too.  Standard library only: the worker SDK
parses ``RR_RELAY`` with this module.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from relays.errors import RelayDSNError

__all__ = ["RelayAddress", "RelayDSNError", "parse_relay_dsn"]

_EXPECTED = "expected pipes, tcp://host:port or unix:///path/to.sock"


@dataclass(frozen=True)
class RelayAddress:
    """A parsed relay address.

    ``raw`` is kept verbatim because RoadRunner hands the configured string
    (not a normalised one) to workers in ``RR_RELAY``.
    """

    kind: Literal["pipes", "tcp", "unix"]
    host: str = ""
    port: int = 0
    path: str = ""
    raw: str = ""

    @property
    def env_value(self) -> str:
        """The value for the worker's ``RR_RELAY`` (the configured text, as RoadRunner does)."""
        return self.raw

    @property
    def is_socket(self) -> bool:
        """True for tcp and unix: the server listens and workers connect."""
        return self.kind != "pipes"

    @property
    def address(self) -> tuple[str, int] | str:
        """What :meth:`socket.socket.bind` / ``connect`` take: ``(host, port)`` or the path.

        Raises :class:`ValueError` for pipes, which have no socket address.
        """
        if self.kind == "tcp":
            return (self.host, self.port)
        if self.kind == "unix":
            return self.path
        raise ValueError("the pipes relay has no socket address")

    def with_port(self, port: int) -> RelayAddress:
        """The same tcp address on another port, ``raw`` rewritten to match.

        Needed when the configured port is 0: workers must be told the port the
        kernel actually picked, not 0.
        """
        if self.kind != "tcp":
            raise ValueError(f"only tcp relays have a port, not {self.kind}")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return replace(self, port=port, raw=f"tcp://{host}:{port}")

    def __str__(self) -> str:
        return self.raw


def _fail(value: str, reason: str = _EXPECTED) -> RelayDSNError:
    return RelayDSNError(f'invalid relay "{value}": {reason}')


def _parse_port(value: str, text: str) -> int:
    if not text:
        raise _fail(value, "the port is missing; expected tcp://host:port")
    if not text.isdigit() or not text.isascii():
        raise _fail(value, f"port {text!r} is not a number; expected tcp://host:port")
    port = int(text)
    if port > 65535:
        raise _fail(value, f"port {port} is out of range 0..65535")
    return port


def _parse_tcp(value: str, rest: str) -> RelayAddress:
    if rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            raise _fail(value, "unterminated IPv6 address; expected tcp://[::1]:port")
        host = rest[1:end]
        tail = rest[end + 1 :]
        if not tail.startswith(":"):
            raise _fail(value, "the port is missing; expected tcp://[::1]:port")
        port_text = tail[1:]
        if not host:
            raise _fail(value, "empty IPv6 address; expected tcp://[::1]:port")
    else:
        host, sep, port_text = rest.rpartition(":")
        if not sep:
            raise _fail(value, "the port is missing; expected tcp://host:port")
        if ":" in host:
            raise _fail(value, "IPv6 addresses must be bracketed, e.g. tcp://[::1]:6001")
    if not host:
        raise _fail(
            value,
            "the host is missing: PHP workers cannot parse tcp://:port "
            f"(write tcp://127.0.0.1:{port_text or 'port'})",
        )
    if "/" in host or "/" in port_text:
        raise _fail(value, _EXPECTED)
    return RelayAddress("tcp", host=host, port=_parse_port(value, port_text), raw=value)


def parse_relay_dsn(value: str) -> RelayAddress:
    """Parse ``pipes``, ``tcp://host:port`` or ``unix://path``.

    Rejects at config time what would otherwise fail later and far away: in the
    PHP worker (which cannot parse ``tcp://:port``) or at spawn time.
    """
    if value == "pipes":
        return RelayAddress("pipes", raw=value)
    scheme, sep, rest = value.partition("://")
    if not sep:
        raise _fail(value)
    if scheme == "tcp":
        return _parse_tcp(value, rest)
    if scheme == "unix":
        if not rest:
            raise _fail(value, "the socket path is missing; expected unix:///path/to.sock")
        if "\0" in rest:
            raise _fail(value, "the socket path contains a NUL byte")
        return RelayAddress("unix", path=rest, raw=value)
    raise _fail(value)
