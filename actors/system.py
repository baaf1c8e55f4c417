"""The ActorSystem: the facade that starts, owns and stops everything.

Order matters and is RoadRunner's: logging, the shared socket relay
listener, then ``on_init`` (the init actor, to completion), then plugins,
each with its pool.  Stopping goes the other way.  Embedding applications
use this class directly; ``python -m actors.main`` is a thin CLI around it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from actors.errors import PoolError
from actors.pool import Pool
from actors.process import Credentials, SpawnError, build_worker_env, resolve_credentials
from actors.worker import WorkerSpec

__all__ = ["ActorSystem", "StartupError"]

log = logging.getLogger("greenrunner.server")


class StartupError(Exception):
    """The server cannot start: the message says what to fix."""


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
        http = getattr(self.config, "http", None)
        if http is not None:
            from actors.plugins.http.plugin import HttpPlugin

            plugin = HttpPlugin(self, http)
            self.plugins["http"] = plugin
            plugin.start()

    # -- pools --------------------------------------------------------------------------

    def new_pool(
        self,
        name: str,
        pool_config: Mapping[str, Any] | Any,
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
        cfg = pool_config
        if isinstance(pool_config, Mapping):
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
            relay=self._relay.raw or "pipes",
            server_env=server.env if server is not None else {},
            plugin_env=dict(env or {}),
            rpc=self.config.rpc.listen if getattr(self.config, "rpc", None) else None,
        )
        relay_timeout = server.relay_timeout if server is not None else 60.0

        def spec() -> WorkerSpec:
            return WorkerSpec(
                command=list(command),
                env=worker_env,
                relay=self._relay,
                credentials=self._credentials or Credentials(),
                allocate_timeout=cfg.allocate_timeout,
                relay_timeout=relay_timeout,
                max_jobs=cfg.max_jobs,
                listener=self.listener,
                command_key=key,
            )

        pool = Pool(name, cfg, spec, request_flags=request_flags)
        self.pools[name] = pool
        try:
            pool.start()
        except BaseException:
            self.pools.pop(name, None)
            pool.destroy(timeout=1)
            raise
        return pool

    def stop(self, timeout: float | None = None) -> None:
        """Stop plugins (in-flight work first), destroy pools, close relays."""
        if self.stopped:
            return
        self.stopped = True
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
