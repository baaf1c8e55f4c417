"""The ActorSystem: the facade that starts, owns and stops everything.

Order matters and is RoadRunner's: logging, the shared socket relay
listener, then ``on_init`` (the init actor, to completion), then plugins,
each with its pool.  Stopping goes the other way.  Embedding applications
use this class directly; ``python -m actors.main`` is a thin CLI around it.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from actors.config import PoolConfig
from actors.errors import PoolError
from actors.pool import Pool
from actors.process import Credentials, SpawnError, build_worker_env, resolve_credentials
from actors.worker import WorkerSpec

__all__ = ["ActorSystem", "StartupError", "UnknownPluginError"]

log = logging.getLogger("greenrunner.server")


class StartupError(Exception):
    """The server cannot start: the message says what to fix."""


class UnknownPluginError(LookupError):
    """An operator named a plugin that has no pool (``no such plugin: X``, RoadRunner's text)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "no such plugin"


class ActorSystem:
    """Loads a config, runs ``on_init``, starts plugins and their pools.

    Everything runs on the current gevent hub; call from a greenlet (the
    main one is fine).  ``new_pool`` lets an embedding app drive workers
    directly, without any plugin.
    """

    def __init__(self, config: Any) -> None:
        self.config = config
        self.pools: dict[str, Pool] = {}
        self.plugins: dict[str, Any] = {}
        self.listener: Any = None
        #: The RPC server (``actors.rpc.RpcServer``) when the config has an ``rpc`` section.
        self.rpc: Any = None
        #: The ``metrics`` and ``status`` plugins when configured (``actors.plugins.observe``).
        self.metrics: Any = None
        self.status: Any = None
        self._credentials: Credentials | None = None
        self._relay: Any = None
        self.started = False
        self.stopped = False

    # -- construction -------------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], overrides: Sequence[str] = ()) -> ActorSystem:
        """Load ``.rr.yaml`` (raises ``config.ConfigError`` naming file, line and key)."""
        from actors.config import load_config

        return cls(load_config(path, overrides))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], overrides: Sequence[str] = ()) -> ActorSystem:
        """Build from a dict shaped like ``.rr.yaml`` (``version: "3"`` may be omitted)."""
        from actors.config import config_from_dict

        data = dict(data)
        data.setdefault("version", "3")
        return cls(config_from_dict(data, overrides))

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> ActorSystem:
        """Set up logging and relays, run ``on_init``, start the configured plugins.

        Raises :class:`StartupError` with the reason when anything fails;
        whatever was already started is stopped again.
        """
        from actors.logs import setup_logging

        setup_logging(self.config.logs)
        try:
            self._prepare_server()
            self._start_rpc()
            self._run_on_init()
            self._start_plugins()
        except StartupError:
            self.stop(timeout=5)
            raise
        except (PoolError, SpawnError) as exc:
            self.stop(timeout=5)
            raise StartupError(str(exc)) from None
        self.started = True
        return self

    def _prepare_server(self) -> None:
        from relays.dsn import parse_relay_dsn

        server = self.config.server
        relay = server.relay if server is not None else "pipes"
        try:
            self._relay = parse_relay_dsn(relay)
        except ValueError as exc:
            raise StartupError(f"server.relay: {exc}") from None
        user = server.user if server is not None else ""
        group = server.group if server is not None else ""
        try:
            self._credentials = resolve_credentials(user, group)
        except SpawnError as exc:
            raise StartupError(str(exc)) from None
        if self._relay.kind != "pipes":
            from relays.server.socket import SocketListener

            self.listener = SocketListener(self._relay)
            try:
                self.listener.start()
            except OSError as exc:
                raise StartupError(f"server.relay: {exc}") from None

    def _start_rpc(self) -> None:
        """Serve RPC before any worker starts, so workers may call it while booting."""
        if self.config.rpc is None or self.rpc is not None:
            return
        from actors.rpc import RpcListenError, RpcServer, ServiceRegistry
        from actors.services import register_all

        registry = ServiceRegistry()
        register_all(registry, self)
        server = RpcServer(self.config.rpc.listen, registry)
        try:
            server.start()
        except RpcListenError as exc:
            raise StartupError(str(exc)) from None
        self.rpc = server
        log.debug("rpc listening", extra={"fields": {"address": server.address}})

    def _run_on_init(self) -> None:
        server = self.config.server
        if server is None or server.on_init is None:
            return
        from actors.on_init import InitActor, InitFailed

        ref = InitActor.start(server.on_init)
        try:
            ref.proxy().run().get()
        except InitFailed as exc:
            raise StartupError(str(exc)) from None
        finally:
            ref.stop()

    def _start_plugins(self) -> None:
        """Metrics first (every pool gets its series), then the pools' plugins, then status."""
        if self.config.metrics is not None:
            from actors.plugins.observe import MetricsPlugin

            metrics = MetricsPlugin(self, self.config.metrics)
            self._start_listening("metrics", metrics, "metrics.address")
            self.metrics = metrics
            if self.rpc is not None:
                self.rpc.registry.register("metrics", metrics.service)
        http = self.config.http
        if http is not None:
            from actors.plugins.http.plugin import HttpPlugin

            plugin = HttpPlugin(self, http)
            self.plugins["http"] = plugin
            plugin.start()
        if self.config.tcp is not None:
            from actors.plugins.tcp import TcpPlugin

            tcp = TcpPlugin(self, self.config.tcp)
            self.plugins["tcp"] = tcp
            if self.rpc is not None:
                self.rpc.registry.register("tcp", tcp.service)
            tcp.start()
        if self.config.jobs is not None:
            from actors.plugins.jobs import JobsPlugin

            jobs = JobsPlugin(self, self.config.jobs)
            self.plugins["jobs"] = jobs
            if self.rpc is not None:
                self.rpc.registry.register("jobs", jobs.service)
            if self.metrics is not None:
                self.metrics.registry.register(jobs.metrics)
            jobs.start()
        if self.config.status is not None:
            from actors.plugins.observe import StatusPlugin

            status = StatusPlugin(self, self.config.status)
            self._start_listening("status", status, "status.address")
            self.status = status
            if self.rpc is not None:
                from actors.services.status import StatusService

                self.rpc.registry.register("status", StatusService(status.probes))

    def _start_listening(self, name: str, plugin: Any, key: str) -> None:
        try:
            plugin.start()
        except OSError as exc:
            hint = " (another process listens there)" if exc.errno == errno.EADDRINUSE else ""
            raise StartupError(f"{key}: cannot listen: {exc.strerror or exc}{hint}") from None
        self.plugins[name] = plugin

    # -- pools --------------------------------------------------------------------------

    def new_pool(
        self,
        name: str,
        pool_config: Mapping[str, Any] | PoolConfig,
        env: Mapping[str, str] | None = None,
        *,
        request_flags: int = 0,
    ) -> Pool:
        """Start a pool of workers and return it once every worker is ready.

        ``pool_config`` is a dict shaped like an ``http.pool`` section (or a
        parsed ``PoolConfig``); ``env`` is the plugin env (e.g. ``RR_MODE``).
        Raises a :class:`~actors.errors.PoolError` when workers cannot start.
        """
        if name in self.pools:
            raise ValueError(f"a pool named {name!r} already exists")
        if self._relay is None:
            self._prepare_server()
        if isinstance(pool_config, PoolConfig):
            cfg = pool_config
        else:
            from actors.config import parse_pool_config

            cfg = parse_pool_config(
                dict(pool_config), source=f"<pool {name}>", key_prefix=f"{name}.pool"
            )
        server = self.config.server
        command = cfg.command or (server.command if server is not None else None)
        if not command:
            raise StartupError(
                f"{name}: no worker command: set server.command (or {name}.pool.command)"
            )
        key = f"{name}.pool.command" if cfg.command else "server.command"
        worker_env = build_worker_env(
            # The listener's address: with port 0 it holds the port the kernel picked.
            relay=(self.listener.address if self.listener else self._relay).raw or "pipes",
            server_env=server.env if server is not None else {},
            plugin_env=dict(env or {}),
            credentials=self._credentials,
            # The bound address: with port 0 it holds the port the kernel picked.
            rpc=self.rpc.address if self.rpc is not None else None,
        )
        relay_timeout = server.relay_timeout if server is not None else 60.0
        max_frame = (server.max_frame_size if server is not None else 256) << 20

        def spec() -> WorkerSpec:
            return WorkerSpec(
                command=list(command),
                env=worker_env,
                relay=self._relay,
                credentials=self._credentials or Credentials(),
                allocate_timeout=cfg.allocate_timeout,
                relay_timeout=relay_timeout,
                max_jobs=cfg.max_jobs,
                max_frame_size=max_frame,
                listener=self.listener,
                command_key=key,
            )

        pool = Pool(name, cfg, spec, request_flags=request_flags)
        self.pools[name] = pool
        if self.metrics is not None:
            self.metrics.watch_pool(name, pool)
        try:
            pool.start()
        except BaseException:
            self.pools.pop(name, None)
            pool.destroy(timeout=1)
            raise
        return pool

    # -- operations (the RPC services call these) ---------------------------------------

    def serves_anything(self) -> bool:
        """Whether anything started listens or works (a server with nothing to do would idle)."""
        return bool(self.plugins or self.pools) or self.rpc is not None

    def pool_of(self, plugin: str) -> Pool:
        """The pool of ``plugin`` (or of an embedder's ``new_pool`` name)."""
        pool = self.pools.get(plugin)
        if pool is None:
            raise UnknownPluginError(f"no such plugin: {plugin}")
        return pool

    def reset(self, plugin: str) -> None:
        """Replace every worker of ``plugin`` (RoadRunner's ``resetter.Reset``)."""
        log.info("resetting plugin", extra={"fields": {"plugin": plugin}})
        self.pool_of(plugin).reset()
        log.info("plugin was reset", extra={"fields": {"plugin": plugin}})

    def add_worker(self, plugin: str) -> None:
        """Grow ``plugin``'s pool by one worker (``informer.AddWorker``)."""
        self.pool_of(plugin).add_worker()

    def remove_worker(self, plugin: str) -> None:
        """Shrink ``plugin``'s pool by one worker (``informer.RemoveWorker``)."""
        self.pool_of(plugin).remove_worker()

    def stop(self, timeout: float | None = None) -> None:
        """Stop plugins (in-flight work first), destroy pools, close relays."""
        if self.stopped:
            return
        self.stopped = True
        if self.status is not None:  # load balancers see "not ready" before anything stops
            self.status.shutting_down()
        if self.rpc is not None:  # no reset or scaling call may race the shutdown
            self.rpc.stop()
        for name, plugin in reversed(list(self.plugins.items())):
            try:
                plugin.stop(timeout)
            except Exception:
                log.exception("plugin failed to stop", extra={"fields": {"plugin": name}})
        for pool in list(self.pools.values()):
            try:
                pool.destroy(timeout)
            except Exception:
                log.exception("pool failed to stop", extra={"fields": {"pool": pool.name}})
        self.pools.clear()
        if self.listener is not None:
            self.listener.close()
        from actors.logs import flush_logging

        flush_logging(2.0)  # lines are written off the hub: out before stop() returns
