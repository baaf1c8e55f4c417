"""The jobs plugin: pipelines (drivers) feed one priority queue, pollers feed one pool.

Lifecycle goes through :class:`JobsPluginActor` (``serve``: the pool, the configured
pipelines, the pollers; ``shutdown``: the other way round).  Jobs do not: pushes run in the
RPC call's greenlet (:meth:`JobsPlugin.push`), and each job runs in a poller's greenlet
(:mod:`actors.plugins.jobs.pollers`).  The plugin is the one owner of the pipeline table;
every change to it is a few dict operations that do not yield, so RPC greenlets never see
it half-changed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gevent
from marshmallow import ValidationError

from actors.config.schema.jobs import load_pipeline, unknown_driver_message
from actors.plugins.jobs.driver import Driver, Job, PipelineState
from actors.plugins.jobs.drivers import DRIVERS
from actors.plugins.jobs.errors import JobsError, plain, wrap
from actors.plugins.jobs.metrics import JobsMetrics
from actors.plugins.jobs.pollers import Pollers
from actors.plugins.jobs.queue import PriorityQueue
from actors.plugins.jobs.service import JobsService
from actors.runtime import GeventActor
from relays.frame import CODEC_RAW

if TYPE_CHECKING:
    from actors.config.model import JobsConfig
    from actors.pool import Pool
    from actors.system import ActorSystem

__all__ = ["WORKER_ENV", "JobsPlugin", "JobsPluginActor", "Pipeline"]

log = logging.getLogger("greenrunner.jobs")

#: The environment RoadRunner gives jobs workers.
WORKER_ENV = {"RR_MODE": "jobs"}


@dataclass(slots=True)
class Pipeline:
    """One pipeline: its driver's config dataclass and the driver."""

    config: Any
    driver: Driver

    @property
    def name(self) -> str:
        return str(self.config.name)

    @property
    def kind(self) -> str:
        return str(self.config.driver)


class JobsPlugin:
    """One ``jobs`` section: its pipelines, queue, pollers and pool named ``jobs``."""

    def __init__(self, system: ActorSystem, cfg: JobsConfig) -> None:
        self.system = system
        self.cfg = cfg
        self.queue = PriorityQueue(cfg.pipeline_size)
        self.metrics = JobsMetrics()
        self.pipelines: dict[str, Pipeline] = {}
        self.consume = set(cfg.consume)
        self.pool: Pool | None = None
        self.pollers = Pollers(self.queue, self._pool, self.metrics, cfg.pollers)
        self.service = JobsService(self)
        self.actor = JobsPluginActor.start(self)

    # -- lifecycle (through the actor) ---------------------------------------------------------

    def start(self) -> None:
        """Start the pool, the configured pipelines and the pollers (``PoolError`` if not)."""
        self.actor.proxy().serve().get()

    def stop(self, timeout: float | None = None) -> None:
        """Jobs in flight finish, queued memory jobs are dropped (logged), the pool goes."""
        try:
            self.actor.proxy().shutdown(timeout).get()
        finally:
            self.actor.stop()

    def _pool(self) -> Pool:
        if self.pool is None:
            raise JobsError("jobs: the pool is not started")
        return self.pool

    # -- pipelines ------------------------------------------------------------------------------

    def add_pipeline(self, config: Any) -> Pipeline:
        """Build ``config``'s driver and register it; run it if it is in ``jobs.consume``."""
        factory = DRIVERS.get(config.driver)
        if factory is None:
            raise plain(unknown_driver_message(config.driver))
        pipeline = Pipeline(config, factory(config, self.queue, log))
        self.pipelines[pipeline.name] = pipeline
        if pipeline.name in self.consume:
            pipeline.driver.run()
        log.debug(
            "pipeline was started",
            extra={"fields": {"pipeline": pipeline.name, "driver": pipeline.kind}},
        )
        return pipeline

    def _get(self, name: str) -> Pipeline:
        pipeline = self.pipelines.get(name)
        if pipeline is None:
            raise plain(f"no such pipeline, requested: {name}")
        return pipeline

    # -- operations (RPC greenlets) -------------------------------------------------------------

    def push(self, job: Job, source: str = "single") -> None:
        """Send ``job`` to its pipeline's driver; priority 0 takes the pipeline's."""
        pipeline = self.pipelines.get(job.options.pipeline)
        if pipeline is None:
            raise wrap("jobs_plugin_push", f"no such pipeline, requested: {job.options.pipeline}")
        if not job.options.priority:
            job.options.priority = int(pipeline.config.priority)
        started = time.monotonic()
        try:
            with gevent.Timeout(self.cfg.timeout, JobsError("context deadline exceeded")):
                pipeline.driver.push(job)
        except Exception as exc:
            self.metrics.pushed(pipeline.name, pipeline.kind, source, None)
            log.error(
                "job push error",
                extra={"fields": {"ID": job.id, "pipeline": pipeline.name, "error": str(exc)}},
            )
            raise wrap("jobs_plugin_push", exc) from None
        self.metrics.pushed(pipeline.name, pipeline.kind, source, time.monotonic() - started)

    def push_batch(self, jobs: list[Job]) -> None:
        """Push each job in turn; the first failure stops the batch (as RoadRunner)."""
        for job in jobs:
            self.push(job, source="batch")

    def pause(self, name: str) -> None:
        """Stop delivering ``name``'s jobs (those in flight finish)."""
        self._get(name).driver.pause()

    def resume(self, name: str) -> None:
        """Deliver ``name``'s jobs again (also starts a pipeline not in ``consume``)."""
        self._get(name).driver.resume()

    def names(self) -> list[str]:
        """Pipeline names, sorted."""
        return sorted(self.pipelines)

    def declare(self, settings: dict[str, str]) -> None:
        """A new pipeline from ``jobs.Declare``'s string map (``driver``, ``name``, ...)."""
        name = settings.get("name", "")
        driver = settings.get("driver", "")
        if not driver:
            raise wrap(
                "jobs_plugin_declare",
                f"no associated driver with the pipeline, pipeline name: {name}",
            )
        if name in self.pipelines:
            raise JobsError(f"pipeline already exists, name: {name}, driver: {driver}")
        try:
            config = load_pipeline(name, {k: v for k, v in settings.items() if k != "name"})
        except ValidationError as exc:
            raise wrap("jobs_plugin_declare", _flatten(exc.messages)) from None
        if name in self.pipelines:  # declared by another call while validating
            raise JobsError(f"pipeline already exists, name: {name}, driver: {driver}")
        try:
            self.add_pipeline(config)
        except JobsError as exc:
            self.pipelines.pop(name, None)
            raise wrap("jobs_plugin_declare", exc) from None

    def destroy(self, name: str) -> None:
        """Stop ``name``'s driver and forget it; its jobs still in the queue are dropped."""
        pipeline = self.pipelines.pop(name, None)
        if pipeline is None:
            raise wrap("jobs_plugin_destroy", f"no such pipeline, requested: {name}")
        try:
            pipeline.driver.stop(self.cfg.timeout)
        except Exception as exc:
            raise wrap("jobs_plugin_destroy", exc) from None
        finally:
            dropped = self.queue.remove(name)
            if dropped:
                log.warning(
                    "pipeline destroyed: jobs waiting in the queue were dropped",
                    extra={"fields": {"pipeline": name, "dropped": len(dropped)}},
                )

    def states(self) -> list[PipelineState]:
        """Every pipeline's counters (a failing driver shows its error message)."""
        out = []
        for pipeline in list(self.pipelines.values()):
            try:
                out.append(pipeline.driver.state())
            except Exception as exc:
                out.append(
                    PipelineState(
                        pipeline=pipeline.name,
                        driver=pipeline.kind,
                        queue="",
                        priority=int(pipeline.config.priority),
                        ready=False,
                        error_message=str(exc),
                    )
                )
        return sorted(out, key=lambda s: s.pipeline)

    def jobs_state(self) -> list[dict[str, Any]]:
        """``informer.Jobs`` and ``/jobs``: RoadRunner's ``jobs.State`` with Go field names."""
        return [
            {
                "Pipeline": s.pipeline,
                "Driver": s.driver,
                "Queue": s.queue,
                "Active": s.active,
                "Delayed": s.delayed,
                "Reserved": s.reserved,
                "Ready": s.ready,
                "Priority": s.priority,
                "ErrorMessage": s.error_message,
            }
            for s in self.states()
        ]


def _flatten(messages: Any, prefix: str = "") -> str:
    """Marshmallow's nested messages as ``key: message; ...``."""
    if isinstance(messages, dict):
        return "; ".join(_flatten(v, f"{prefix}{k}: ") for k, v in messages.items())
    if isinstance(messages, list):
        return "; ".join(_flatten(v, prefix) for v in messages)
    return f"{prefix}{messages}"


class JobsPluginActor(GeventActor):
    """Owns the jobs plugin's start and stop; both run in its inbox, one at a time."""

    def __init__(self, plugin: JobsPlugin) -> None:
        super().__init__()
        self.plugin = plugin

    def serve(self) -> None:
        """The pool first (jobs need workers), then the pipelines, then the pollers."""
        plugin = self.plugin
        plugin.pool = plugin.system.new_pool(
            "jobs", plugin.cfg.pool, WORKER_ENV, request_flags=CODEC_RAW
        )
        for config in plugin.cfg.pipelines.values():
            plugin.add_pipeline(config)
        plugin.pollers.start()
        log.info(
            "jobs plugin was started",
            extra={
                "fields": {"pipelines": sorted(plugin.pipelines), "pollers": plugin.pollers.count}
            },
        )

    def shutdown(self, timeout: float | None = None) -> None:
        """Pollers stop taking jobs and finish theirs, drivers stop (memory drops what it
        holds), then the pool is destroyed; one ``timeout`` budget for everything."""
        plugin = self.plugin
        budget = timeout if timeout is not None else plugin.cfg.pool.destroy_timeout
        deadline = time.monotonic() + budget
        killed = plugin.pollers.stop(budget)
        if killed:
            log.warning(
                "jobs still running at the stop deadline were abandoned",
                extra={"fields": {"jobs": killed}},
            )
        for name, pipeline in list(plugin.pipelines.items()):
            try:
                pipeline.driver.stop(min(plugin.cfg.timeout, max(1.0, deadline - time.monotonic())))
            except Exception:
                log.exception("stop job driver", extra={"fields": {"pipeline": name}})
            dropped = plugin.queue.remove(name)
            if dropped:
                log.warning(
                    "jobs plugin stopped: jobs waiting in the queue were dropped",
                    extra={"fields": {"pipeline": name, "dropped": len(dropped)}},
                )
        plugin.pipelines.clear()
        if plugin.pool is not None:
            plugin.pool.destroy(max(1.0, deadline - time.monotonic()))
        gevent.sleep(0)
