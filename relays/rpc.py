"""The worker SDK's RPC client: call the server's services like PHP's ``Spiral\\Goridge\\RPC\\RPC``.

Standard library only (workers need neither gevent nor the server)::

    from relays.rpc import RPC, Metrics, WorkerPool
    rpc = RPC.create()                      # RR_RPC, else tcp://127.0.0.1:6001
    rpc.call("informer.Workers", "http")    # JSON by default: {"workers": [...]}
    WorkerPool(rpc).add_worker("http")
    Metrics(rpc).add("requests", 1)

One call at a time per connection (a lock makes the client safe to share between threads);
sequence numbers start at 1 and every reply must echo its request's, as in PHP.  An ERROR
reply raises :class:`ServiceError` with PHP's wording (``Error '<text>' on <address>``).
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from relays.dsn import parse_relay_dsn
from relays.errors import RelayDSNError
from relays.frame import (
    CODEC_JSON,
    CODEC_PROTO,
    CODEC_RAW,
    ERROR,
    FrameError,
    FrameReader,
    RelayClosedError,
    encode_frame,
)

__all__ = [
    "CODEC_JSON",
    "CODEC_PROTO",
    "CODEC_RAW",
    "DEFAULT_ADDRESS",
    "RPC",
    "Collector",
    "Metrics",
    "MetricsError",
    "RPCError",
    "ServiceError",
    "WorkerPool",
]

#: Where PHP's ``Environment::getRPCAddress()`` points when ``RR_RPC`` is not set.
DEFAULT_ADDRESS = "tcp://127.0.0.1:6001"


class RPCError(Exception):
    """The RPC conversation failed: cannot connect, connection lost, or not a goridge reply."""


class ServiceError(RPCError):
    """The server answered with an error (PHP's ``ServiceException``); ``text`` is its text."""

    def __init__(self, text: str, address: str) -> None:
        super().__init__(f"Error '{text}' on {address}")
        self.text = text
        self.address = address


class _Connection:
    """One socket, its sequence counter and the lock that keeps calls whole; shared by clones."""

    def __init__(self, address: str, timeout: float | None) -> None:
        try:
            parsed = parse_relay_dsn(address)
        except RelayDSNError as exc:
            raise RPCError(f"invalid RPC address (RR_RPC): {exc}") from None
        if not parsed.is_socket:
            raise RPCError(
                f'invalid RPC address "{address}": expected tcp://host:port or unix:///path'
            )
        try:
            if parsed.kind == "unix":
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(timeout)
                try:
                    sock.connect(parsed.path)
                except OSError:
                    sock.close()
                    raise
            else:
                sock = socket.create_connection((parsed.host, parsed.port), timeout=timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:
            raise RPCError(
                f"cannot connect to the RPC server at {address}: {exc} (is the rpc section "
                "configured and the server running? RR_RPC must match rpc.listen)"
            ) from exc
        self.address = address
        self.sock = sock
        self.reader = FrameReader(sock.recv)
        self.lock = threading.Lock()
        self.seq = 1
        #: Why the connection is unusable (closed, or out of step after a failed call).
        self.broken = ""

    def close(self, reason: str = "it was closed") -> None:
        """Close the socket; later calls fail, quoting the first ``reason``."""
        if not self.broken:
            self.broken = reason
        self.sock.close()


class RPC:
    """A goridge RPC client with PHP's method names (``create``, ``call``, ``with_codec``...)."""

    def __init__(
        self,
        address: str,
        codec: int = CODEC_JSON,
        *,
        timeout: float | None = None,
        service: str | None = None,
        _connection: _Connection | None = None,
    ) -> None:
        _check_codec(codec)
        self._conn = _connection or _Connection(address, timeout)
        self.codec = codec
        self.service = service

    @classmethod
    def create(
        cls, address: str | None = None, codec: int = CODEC_JSON, *, timeout: float | None = None
    ) -> RPC:
        """Connect to ``address``, else ``$RR_RPC``, else ``tcp://127.0.0.1:6001``."""
        return cls(address or os.environ.get("RR_RPC") or DEFAULT_ADDRESS, codec, timeout=timeout)

    @property
    def address(self) -> str:
        """The server address this client is connected to (as given)."""
        return self._conn.address

    def with_service_prefix(self, service: str) -> RPC:
        """A client on this connection where ``call("workers", x)`` calls ``service.Workers``."""
        return RPC(self.address, self.codec, service=service, _connection=self._conn)

    def with_codec(self, codec: int) -> RPC:
        """A client on this connection sending ``codec`` (CODEC_JSON, CODEC_RAW, CODEC_PROTO)."""
        return RPC(self.address, codec, service=self.service, _connection=self._conn)

    # PHP's names, for code ported from PHP.
    withServicePrefix = with_service_prefix
    withCodec = with_codec

    def call(self, method: str, payload: Any = None, codec: int | None = None) -> Any:
        """Call ``Service.Method``; the decoded reply (JSON value, or ``bytes`` for raw/proto).

        JSON payloads are any ``json``-encodable value; raw payloads ``bytes`` or ``str``;
        proto payloads the serialized message (``bytes``) or a message object.
        Raises :class:`ServiceError` on an ERROR reply, :class:`RPCError` when the
        conversation itself fails (the connection is then closed).
        """
        codec = self.codec if codec is None else codec
        _check_codec(codec)
        if self.service is not None:
            method = f"{self.service}.{method[:1].upper()}{method[1:]}"
        name = method.encode("utf-8")
        body = _encode(codec, payload)
        conn = self._conn
        with conn.lock:
            if conn.broken:
                raise RPCError(
                    f"RPC call {method}: the connection to {conn.address} is unusable "
                    f"({conn.broken}); create a new RPC client"
                )
            seq = conn.seq
            try:
                conn.sock.sendall(encode_frame(name + body, codec, 0, (seq, len(name))))
                frame = conn.reader.read_frame()
            except (OSError, FrameError, RelayClosedError) as exc:
                conn.close(f"call {method} failed: {exc}")
                raise RPCError(f"RPC call {method} to {conn.address} failed: {exc}") from exc
            if len(frame.options) != 2:
                conn.close(f"reply to {method} had {len(frame.options)} options")
                raise RPCError("Invalid RPC frame, options missing")
            if frame.options[0] != seq:
                conn.close(f"reply to {method} was out of sequence")
                raise RPCError(
                    f"Invalid RPC frame, sequence mismatch: sent {seq}, got {frame.options[0]}"
                )
            conn.seq = seq + 1 if seq < 0xFFFFFFFF else 1
        reply = frame.payload[frame.options[1] :]
        if frame.flags & ERROR:
            raise ServiceError(reply.decode("utf-8", "replace"), conn.address)
        if frame.flags & CODEC_JSON:
            return json.loads(reply) if reply else None
        return reply

    def close(self) -> None:
        """Close the connection (shared with the clients made by ``with_*``)."""
        self._conn.close()

    def __enter__(self) -> RPC:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_codec(codec: int) -> None:
    """Only the codecs this client can encode; a typo fails here, not on the server."""
    if codec not in (CODEC_JSON, CODEC_RAW, CODEC_PROTO):
        raise ValueError(f"codec must be CODEC_JSON, CODEC_RAW or CODEC_PROTO, not {codec:#x}")


def _encode(codec: int, payload: Any) -> bytes:
    """The argument bytes for ``codec`` (PHP: JsonCodec, RawCodec, ProtobufCodec)."""
    if codec == CODEC_JSON:
        return json.dumps(payload, separators=(",", ":")).encode("utf-8")
    if isinstance(payload, bytes | bytearray | memoryview):
        return bytes(payload)
    if codec == CODEC_RAW and isinstance(payload, str):
        return payload.encode("utf-8")
    if codec == CODEC_PROTO and hasattr(payload, "SerializeToString"):
        return bytes(payload.SerializeToString())
    if payload is None:
        return b""
    kind = "bytes or str" if codec == CODEC_RAW else "bytes or a protobuf message"
    raise TypeError(f"this codec sends {kind}, not {type(payload).__name__}")


class WorkerPool:
    """Scale a plugin's pool from a worker (PHP ``Spiral\\RoadRunner\\WorkerPool``)."""

    def __init__(self, rpc: RPC) -> None:
        self._rpc = rpc.with_codec(CODEC_JSON)

    def add_worker(self, plugin: str) -> None:
        """One more worker in ``plugin``'s pool (``informer.AddWorker``)."""
        self._rpc.call("informer.AddWorker", plugin)

    def remove_worker(self, plugin: str) -> None:
        """One worker less in ``plugin``'s pool (``informer.RemoveWorker``)."""
        self._rpc.call("informer.RemoveWorker", plugin)

    def get_workers(self, plugin: str) -> list[dict[str, Any]]:
        """The pool's workers (``informer.Workers``): dicts with ``pid``, ``status``, ..."""
        reply = self._rpc.call("informer.Workers", plugin)
        workers = reply.get("workers") if isinstance(reply, dict) else None
        return list(workers or [])

    def count_workers(self, plugin: str) -> int:
        """How many workers the pool has."""
        return len(self.get_workers(plugin))

    # PHP's names, for code ported from PHP.
    addWorker = add_worker
    removeWorker = remove_worker
    getWorkers = get_workers
    countWorkers = count_workers


@dataclass(frozen=True)
class Collector:
    """A metric declaration (PHP ``Spiral\\RoadRunner\\Metrics\\Collector``)."""

    type: str
    namespace: str = ""
    subsystem: str = ""
    help: str = ""
    labels: Sequence[str] = ()
    buckets: Sequence[float] = ()
    objectives: Mapping[float, float] = field(default_factory=dict)

    @classmethod
    def histogram(cls, *buckets: float, **options: Any) -> Collector:
        """A histogram with these bucket upper bounds."""
        return cls("histogram", buckets=buckets, **options)

    @classmethod
    def gauge(cls, **options: Any) -> Collector:
        """A gauge: a value that goes up and down (``add``, ``sub``, ``set``)."""
        return cls("gauge", **options)

    @classmethod
    def counter(cls, **options: Any) -> Collector:
        """A counter: a value that only goes up (``add``)."""
        return cls("counter", **options)

    @classmethod
    def summary(cls, **options: Any) -> Collector:
        """A summary: quantiles of observed values (``observe``; ``objectives``)."""
        return cls("summary", **options)

    def to_dict(self) -> dict[str, Any]:
        """The ``collector`` object of ``metrics.Declare``."""
        out: dict[str, Any] = {
            "namespace": self.namespace,
            "subsystem": self.subsystem,
            "type": self.type,
            "help": self.help,
            "labels": list(self.labels),
            "buckets": list(self.buckets),
        }
        if self.objectives:
            out["objectives"] = {str(k): v for k, v in self.objectives.items()}
        return out


class MetricsError(RPCError):
    """The metrics service refused a call (PHP ``MetricsException``)."""


class Metrics:
    """Application metrics through the server (PHP ``Spiral\\RoadRunner\\Metrics\\Metrics``)."""

    def __init__(self, rpc: RPC) -> None:
        self._rpc = rpc.with_codec(CODEC_JSON).with_service_prefix("metrics")

    def _call(self, method: str, payload: Any) -> None:
        """Call ``metrics.<method>``; a refusal becomes a :class:`MetricsError`, as in PHP."""
        try:
            self._rpc.call(method, payload)
        except ServiceError as exc:
            raise MetricsError(str(exc)) from exc

    def add(self, name: str, value: float, labels: Sequence[str] = ()) -> None:
        """Add ``value`` to a counter or gauge (``metrics.Add``)."""
        self._call("Add", {"name": name, "value": value, "labels": list(labels)})

    def sub(self, name: str, value: float, labels: Sequence[str] = ()) -> None:
        """Subtract ``value`` from a gauge (``metrics.Sub``)."""
        self._call("Sub", {"name": name, "value": value, "labels": list(labels)})

    def observe(self, name: str, value: float, labels: Sequence[str] = ()) -> None:
        """Record ``value`` in a histogram or summary (``metrics.Observe``)."""
        self._call("Observe", {"name": name, "value": value, "labels": list(labels)})

    def set(self, name: str, value: float, labels: Sequence[str] = ()) -> None:
        """Set a gauge to ``value`` (``metrics.Set``)."""
        self._call("Set", {"name": name, "value": value, "labels": list(labels)})

    def declare(self, name: str, collector: Collector | Mapping[str, Any]) -> None:
        """Declare a metric; declaring it again is not an error (as in PHP)."""
        spec = collector.to_dict() if isinstance(collector, Collector) else dict(collector)
        try:
            self._rpc.call("Declare", {"name": name, "collector": spec})
        except ServiceError as exc:
            if "tried to register existing collector" in exc.text:
                return
            raise MetricsError(str(exc)) from exc

    def unregister(self, name: str) -> None:
        """Remove the metric (``metrics.Unregister``)."""
        self._call("Unregister", name)
