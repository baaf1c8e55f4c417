"""Typed configuration objects: what the rest of Greenrunner reads.

The schema (:mod:`actors.config.schema`) validates and normalises; these
dataclasses hold the result so actors and plugins use attributes with
known types and units (seconds as ``float``, MiB as ``int``) instead of
poking into dicts and re-checking values.  Every field has the RoadRunner
default, so an embedder can also build them directly
(``PoolConfig(num_workers=2)``).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

__all__ = [
    "DEFAULT_METRICS_ADDRESS",
    "DEFAULT_RPC_LISTEN",
    "MAX_WORKERS",
    "METRIC_TYPES",
    "ClientAuthType",
    "CollectorConfig",
    "Config",
    "DynamicAllocatorConfig",
    "Http2Config",
    "HttpConfig",
    "JobsConfig",
    "LogChannelConfig",
    "LogsConfig",
    "MemoryPipelineConfig",
    "MetricType",
    "MetricsConfig",
    "OnInitConfig",
    "PoolConfig",
    "RpcConfig",
    "ServerConfig",
    "SslConfig",
    "StatusConfig",
    "SupervisorConfig",
    "TcpConfig",
    "TcpServerConfig",
    "UploadsConfig",
    "YamlValue",
    "cpu_count",
    "split_host_port",
]

#: RoadRunner's hard limit on ``num_workers`` (pool ``NewPool``).
MAX_WORKERS = 500
#: ``rpc.listen`` when the ``rpc`` section exists without it.
DEFAULT_RPC_LISTEN = "tcp://127.0.0.1:6001"
#: ``metrics.address`` when the ``metrics`` section exists without it (RoadRunner's default).
DEFAULT_METRICS_ADDRESS = "127.0.0.1:2112"

#: The four Prometheus collector kinds RoadRunner's metrics plugin declares from config.
MetricType: TypeAlias = Literal["counter", "gauge", "histogram", "summary"]
METRIC_TYPES: tuple[MetricType, ...] = ("counter", "gauge", "histogram", "summary")

#: Plain YAML data (after env expansion, includes and overrides): what ``Config.raw`` holds.
YamlValue: TypeAlias = "str | int | float | bool | list[YamlValue] | dict[str, YamlValue] | None"


def cpu_count() -> int:
    """``num_workers: 0`` means one worker per CPU, like Go's ``runtime.NumCPU()``."""
    return os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class SupervisorConfig:
    """Per-pool supervisor limits; 0 disables a limit (seconds, MiB)."""

    watch_tick: float = 5.0
    ttl: float = 0.0
    idle_ttl: float = 0.0
    max_worker_memory: int = 0
    exec_ttl: float = 0.0


@dataclass(frozen=True, slots=True)
class DynamicAllocatorConfig:
    """RoadRunner's (beta) dynamic allocator; kept so configs round-trip, not acted on yet."""

    max_workers: int = 10
    spawn_rate: int = 5
    idle_timeout: float = 60.0


@dataclass(frozen=True, slots=True)
class PoolConfig:
    """A worker pool (``http.pool`` and friends); ``command=None`` means ``server.command``."""

    command: list[str] | None = None
    num_workers: int = field(default_factory=cpu_count)
    max_jobs: int = 0
    max_queue_size: int = 0
    allocate_timeout: float = 60.0
    reset_timeout: float = 60.0
    destroy_timeout: float = 60.0
    stream_timeout: float = 60.0
    debug: bool = False
    supervisor: SupervisorConfig | None = None
    dynamic_allocator: DynamicAllocatorConfig | None = None


@dataclass(frozen=True, slots=True)
class OnInitConfig:
    """A one-shot command run before any worker starts."""

    command: list[str]
    exec_timeout: float = 60.0
    env: dict[str, str] = field(default_factory=dict)
    user: str = ""
    exit_on_error: bool = False


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """How worker processes are started.

    ``command`` may be empty only when every pool has its own ``command``.
    ``relay_timeout`` is accepted for old configs; RoadRunner stopped using it.
    ``max_frame_size`` (MiB) caps the payload a worker's frame may announce after
    the handshake: a bigger header kills the worker before its payload is read.
    """

    command: list[str] = field(default_factory=list)
    user: str = ""
    group: str = ""
    env: dict[str, str] = field(default_factory=dict)
    relay: str = "pipes"
    relay_timeout: float = 60.0
    max_frame_size: int = 256
    on_init: OnInitConfig | None = None


@dataclass(frozen=True, slots=True)
class LogChannelConfig:
    """Per-logger overrides (``logs.channels.<name>``); ``None`` inherits from ``logs``."""

    level: str | None = None
    mode: str | None = None
    encoding: str | None = None
    output: list[str] | None = None


def _default_encoding(mode: str) -> str:
    # RoadRunner's production mode is zap's production config, which writes JSON.
    return "json" if mode == "production" else "console"


@dataclass(frozen=True, slots=True)
class LogsConfig:
    """Logging. ``encoding=""`` means "what the mode implies": JSON for
    ``production``, console for the others (resolved at construction)."""

    level: str = "info"
    mode: str = "production"
    encoding: str = ""
    output: list[str] = field(default_factory=lambda: ["stderr"])
    err_output: list[str] = field(default_factory=lambda: ["stderr"])
    line_ending: str = "\n"
    channels: dict[str, LogChannelConfig] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.level == "warning":
            object.__setattr__(self, "level", "warn")
        if not self.encoding:
            object.__setattr__(self, "encoding", _default_encoding(self.mode))


@dataclass(frozen=True, slots=True)
class UploadsConfig:
    """Multipart uploads; extensions are lower-case with a leading dot (``.php``)."""

    dir: str = field(default_factory=tempfile.gettempdir)
    forbid: list[str] = field(default_factory=list)
    allow: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class HttpConfig:
    """The HTTP plugin. ``address`` is normalised to ``host:port`` (``:8080`` → ``0.0.0.0:8080``);
    ``max_request_size`` is in MiB.

    The three limits below guard a public listener against clients that hold connections open
    for free (slowloris); see ``actors/config/schema/http.py`` for why each default is safe:
    ``header_timeout`` (seconds) to receive a whole request head, ``min_body_rate`` (bytes/s,
    averaged after a grace period; 0 disables) for the body, ``max_connections`` open at once.
    """

    address: str
    host: str
    port: int
    pool: PoolConfig = field(default_factory=PoolConfig)
    max_request_size: int = 1000
    internal_error_code: int = 500
    raw_body: bool = False
    access_logs: bool = False
    uploads: UploadsConfig = field(default_factory=UploadsConfig)
    middleware: list[str] = field(default_factory=list)
    header_timeout: float = 10.0
    min_body_rate: int = 1024
    max_connections: int = 10_000
    #: Middleware settings (``http.static``, ``http.headers``, ``http.trusted_subnets``); the
    #: dataclasses are at the end of this module, see ``docs/http-middleware.md``.
    static: StaticConfig | None = None
    headers: HeadersConfig | None = None
    trusted_subnets: list[str] = field(default_factory=lambda: list(DEFAULT_TRUSTED_SUBNETS))
    #: ``http.ssl``: the TLS listener (None: none); ``address`` may then be "" (TLS only).
    ssl: SslConfig | None = None
    #: ``http.http2``: h2c on the plain listener and stream limits (None: the defaults).
    http2: Http2Config | None = None


@dataclass(frozen=True, slots=True)
class RpcConfig:
    """The RPC listener DSN (``tcp://host:port`` or ``unix://path``), checked at load
    time by :func:`relays.dsn.parse_relay_dsn`; ``pipes`` is refused."""

    listen: str = DEFAULT_RPC_LISTEN


def split_host_port(address: str) -> tuple[str, int]:
    """``"127.0.0.1:2112"`` → ``("127.0.0.1", 2112)``; ``"[::1]:2112"`` → ``("::1", 2112)``.

    For the normalised ``host:port`` the schema stores; an empty host (``":2112"``,
    as an embedder may write it) means every IPv4 interface, as for ``http.address``.
    """
    host, _, port = address.rpartition(":")
    return host.removeprefix("[").removesuffix("]") or "0.0.0.0", int(port)


@dataclass(frozen=True, slots=True)
class StatusConfig:
    """The health and readiness endpoints (``GET /health?plugin=http``, ``/ready``).

    ``address`` is a normalised ``host:port`` (RoadRunner requires it: there is no
    default); a pool that cannot answer gets ``unavailable_status_code``;
    ``check_timeout`` is whole seconds, as in RoadRunner (an ``int``, not a duration).
    """

    address: str
    unavailable_status_code: int = 503
    check_timeout: int = 60

    @property
    def host(self) -> str:
        """The interface to bind."""
        return split_host_port(self.address)[0]

    @property
    def port(self) -> int:
        """The TCP port to bind."""
        return split_host_port(self.address)[1]


@dataclass(frozen=True, slots=True)
class CollectorConfig:
    """One application metric declared under ``metrics.collect`` (RoadRunner's
    ``Collector``); workers update it over RPC by ``name``.

    ``buckets`` (histograms; empty means Prometheus' default buckets) are
    strictly increasing; ``objectives`` (summaries) map a quantile to its
    allowed error, both within 0..1.
    """

    name: str
    type: MetricType
    help: str = ""
    namespace: str = ""
    subsystem: str = ""
    labels: list[str] = field(default_factory=list)
    buckets: list[float] = field(default_factory=list)
    objectives: dict[float, float] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        """``namespace_subsystem_name`` (empty parts skipped), as Prometheus exposes it."""
        return "_".join(part for part in (self.namespace, self.subsystem, self.name) if part)


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """The Prometheus endpoint (``/metrics`` on ``address``) and the application
    metrics declared in config (``collect``: metric name → collector)."""

    address: str = DEFAULT_METRICS_ADDRESS
    collect: dict[str, CollectorConfig] = field(default_factory=dict)

    @property
    def host(self) -> str:
        """The interface to bind."""
        return split_host_port(self.address)[0]

    @property
    def port(self) -> int:
        """The TCP port to bind."""
        return split_host_port(self.address)[1]


@dataclass(frozen=True, slots=True)
class TcpServerConfig:
    """One raw TCP server of the ``tcp`` section (``tcp.servers.<name>``).

    ``delimiter`` is the byte string that ends a message (RoadRunner's default
    ``\\r\\n``).  ``stream`` and ``max_connections`` are Greenrunner extensions:
    ``stream`` hands every read to the worker as it arrives (no framing, the
    delimiter is unused); ``max_connections`` (0: no limit) bounds the open
    connections of this server, refusing the ones above it.
    """

    name: str
    addr: str
    host: str
    port: int
    delimiter: bytes = b"\r\n"
    stream: bool = False
    max_connections: int = 0


@dataclass(frozen=True, slots=True)
class TcpConfig:
    """RoadRunner's ``tcp`` plugin: named servers sharing one pool.

    ``read_buf_size`` and ``max_message_size`` are MiB, as written in the file
    (RoadRunner multiplies ``read_buf_size`` by 1 MiB too).  ``max_message_size``
    is Greenrunner's bound on a message still waiting for its delimiter, which
    RoadRunner lets grow without limit; it is never below one read.
    """

    servers: dict[str, TcpServerConfig]
    read_buf_size: int = 1
    max_message_size: int = 8
    pool: PoolConfig = field(default_factory=PoolConfig)

    @property
    def read_buf_bytes(self) -> int:
        """The size of one read from a connection, in bytes."""
        return self.read_buf_size * 1024 * 1024

    @property
    def max_message_bytes(self) -> int:
        """The most bytes one framed message may hold (at least one read)."""
        return max(self.max_message_size * 1024 * 1024, self.read_buf_bytes)


@dataclass(frozen=True, slots=True)
class Config:
    """A whole validated config. A section that is ``None`` was absent, so that part
    is off (RoadRunner enables a plugin by the presence of its section; ``rpc:``
    alone enables RPC with the defaults).  ``raw`` is the data after env expansion,
    includes and overrides, kept for sections Greenrunner does not model (and for
    debugging); ``path`` is the file it came from (``None`` for dicts)."""

    version: str = "3"
    server: ServerConfig | None = None
    logs: LogsConfig = field(default_factory=LogsConfig)
    http: HttpConfig | None = None
    rpc: RpcConfig | None = None
    status: StatusConfig | None = None
    metrics: MetricsConfig | None = None
    tcp: TcpConfig | None = None
    amqp: AmqpConfig | None = None
    jobs: JobsConfig | None = None
    path: str | None = None
    raw: dict[str, YamlValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MemoryPipelineConfig:
    """One ``jobs.pipelines.<name>`` with ``driver: memory`` (RoadRunner's memory driver).

    ``priority``: jobs pushed with priority 0 get this one (lower runs first);
    ``prefetch``: at most this many of the pipeline's jobs are in the shared queue or
    running at once, the rest wait in the pipeline.
    """

    name: str
    driver: str = "memory"
    priority: int = 10
    prefetch: int = 100_000


@dataclass(frozen=True, slots=True)
class JobsConfig:
    """The ``jobs`` section: one worker pool fed by every pipeline.

    ``pipelines`` holds each driver's own config dataclass (:class:`MemoryPipelineConfig`,
    the amqp one...), all with ``name``, ``driver`` and ``priority``.  ``num_pollers`` is
    how many jobs run at once (0: ``pool.num_workers + 2``, RoadRunner's default);
    ``timeout`` bounds a push and a driver's stop, in seconds.
    """

    pool: PoolConfig = field(default_factory=PoolConfig)
    num_pollers: int = 0
    pipeline_size: int = 1_000_000
    timeout: float = 60.0
    consume: list[str] = field(default_factory=list)
    pipelines: dict[str, object] = field(default_factory=dict)

    @property
    def pollers(self) -> int:
        """The number of poller greenlets (``num_pollers``, or ``num_workers + 2``)."""
        return self.num_pollers or self.pool.num_workers + 2


# -- http middleware (docs/http-middleware.md) --------------------------------------------


#: ``http.trusted_subnets`` when absent: RoadRunner's schema default (private, loopback and
#: link-local networks), so a proxy on the same host or LAN is trusted out of the box.
DEFAULT_TRUSTED_SUBNETS: tuple[str, ...] = (
    "10.0.0.0/8",
    "127.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
)


@dataclass(frozen=True, slots=True)
class StaticConfig:
    """``http.static``: files served from ``dir`` before a request reaches a worker.

    ``dir`` is an absolute, symlink-free path (checked to be a directory at load time);
    ``forbid``/``allow`` are lower-case extensions with their dot (``.php``), an extension in
    both lists being forbidden; ``request``/``response`` are extra headers.
    """

    dir: str = "."
    forbid: list[str] = field(default_factory=list)
    allow: list[str] = field(default_factory=list)
    calculate_etag: bool = False
    weak: bool = False
    request: dict[str, str] = field(default_factory=dict)
    response: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CorsConfig:
    """``http.headers.cors``: RoadRunner's comma-separated strings, split into lists here
    (empty list: the rs/cors default); ``allowed_origin_regex`` is a Python ``re`` pattern."""

    allowed_origin: list[str] = field(default_factory=list)
    allowed_origin_regex: str = ""
    allowed_headers: list[str] = field(default_factory=list)
    allowed_methods: list[str] = field(default_factory=list)
    allow_credentials: bool = False
    exposed_headers: list[str] = field(default_factory=list)
    max_age: int = 0
    options_success_status: int = 200


@dataclass(frozen=True, slots=True)
class HeadersConfig:
    """``http.headers``: CORS (None: off) and static request / response headers."""

    cors: CorsConfig | None = None
    request: dict[str, str] = field(default_factory=dict)
    response: dict[str, str] = field(default_factory=dict)


# --- amqp (jobs driver, issue 11) ------------------------------------------------------------

#: RoadRunner's default broker address (``amqpjobs/config.go`` ``InitDefault``).
DEFAULT_AMQP_ADDR = "amqp://guest:guest@127.0.0.1:5672/"


@dataclass(frozen=True, slots=True)
class AmqpConfig:
    """RoadRunner's top-level ``amqp`` section: the broker every ``amqp`` pipeline dials
    unless the pipeline names its own ``addr`` (a Greenrunner extension)."""

    addr: str = DEFAULT_AMQP_ADDR


@dataclass(frozen=True, slots=True)
class AmqpPipelineConfig:
    """One ``jobs.pipelines.<name>`` with ``driver: amqp`` (``amqpjobs/config.go``).

    Every default is upstream's ``InitDefault``: a zero ``prefetch``, ``priority`` or
    ``redial_timeout`` means 10, 10 and 60; ``consumer_id`` is ``roadrunner-<uuid4>``
    when not set.  ``queue_headers`` are the queue's declare arguments (``x-max-priority``,
    ``x-dead-letter-exchange``...).  ``redial_timeout`` is seconds.
    """

    name: str
    driver: str = "amqp"
    addr: str = DEFAULT_AMQP_ADDR
    priority: int = 10
    prefetch: int = 10
    queue: str = ""
    exchange: str = "amqp.default"
    exchange_type: str = "direct"
    routing_key: str = ""
    consume_all: bool = False
    exclusive: bool = False
    durable: bool = False
    delete_queue_on_stop: bool = False
    multiple_ack: bool = False
    requeue_on_fail: bool = False
    exchange_durable: bool = False
    exchange_auto_delete: bool = False
    queue_auto_delete: bool = False
    redial_timeout: int = 60
    queue_headers: dict[str, YamlValue] = field(default_factory=dict)
    consumer_id: str = ""


__all__ += ["DEFAULT_AMQP_ADDR", "AmqpConfig", "AmqpPipelineConfig"]
#: ``http.ssl.client_auth_type`` values, RoadRunner's spelling (Go's ``tls.ClientAuthType``).
ClientAuthType: TypeAlias = Literal[
    "no_client_cert",
    "request_client_cert",
    "require_any_client_cert",
    "verify_client_cert_if_given",
    "require_and_verify_client_cert",
]


@dataclass(frozen=True, slots=True)
class SslConfig:
    """``http.ssl``: the TLS listener.  ``address`` is normalised like ``http.address``;
    ``key``/``cert`` are PEM files checked to exist at load time; ``root_ca`` (optional) is
    the CA bundle client certificates are checked against, and ``client_auth_type`` only
    applies when it is set (as in RoadRunner).  ``redirect`` makes the plain listener answer
    every request with a 308 to this listener."""

    address: str = "127.0.0.1:443"
    host: str = "127.0.0.1"
    port: int = 443
    key: str = ""
    cert: str = ""
    root_ca: str = ""
    client_auth_type: ClientAuthType = "no_client_cert"
    redirect: bool = False


@dataclass(frozen=True, slots=True)
class Http2Config:
    """``http.http2``: ``h2c`` serves HTTP/2 without TLS (prior knowledge) on the plain
    listener; ``max_concurrent_streams`` bounds the streams one connection may have open
    (HTTP/2 over TLS is always offered by ALPN, as Go's server does)."""

    h2c: bool = False
    max_concurrent_streams: int = 128
