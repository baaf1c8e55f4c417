"""The actor that owns one worker process, from spawn to exit.

It spawns the process and completes the relay handshake (``spawn``), stops
it (``stop_worker``: the stop command, SIGKILL after a grace period, waited
for in a helper greenlet, not in the inbox), and watches for its exit in a
greenlet, which tells the pool (``spec.on_exit``) and sets ``exited()``.  The helpers
below start or stop several workers at once, from the PoolActor's helper
greenlets, never from an actor's inbox.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence

import gevent
import gevent.event
import pykka

from actors.errors import AllocateError, PoolError
from actors.process import SpawnError, WorkerProcess
from actors.runtime import GeventActor
from actors.worker.handle import WorkerHandle
from actors.worker.reason import RetireReason
from actors.worker.spec import WorkerSpec, jittered_max_jobs
from relays.control import STOP_COMMAND
from relays.frame import FrameError
from relays.server.base import Relay

__all__ = ["STOP_GRACE", "WorkerActor", "start_worker", "start_workers", "stop_workers"]

log = logging.getLogger("greenrunner.pool")

#: RoadRunner waits this long for a worker to obey the stop command.
STOP_GRACE = 10.0


class WorkerActor(GeventActor):
    """Owns one worker process from spawn to exit.

    Told nothing upward but its exit (``spec.on_exit``), so the pool never
    has to ask it anything on the request path.
    """

    def __init__(self, spec: WorkerSpec) -> None:
        super().__init__()
        self.spec = spec
        self.handle: WorkerHandle | None = None
        self._watcher: gevent.Greenlet | None = None
        self._stopping: gevent.event.AsyncResult | None = None
        self._exited = gevent.event.Event()

    # -- spawn ----------------------------------------------------------------

    def spawn(self) -> WorkerHandle:
        """Start the process and complete the handshake, or raise AllocateError."""
        spec = self.spec
        pipes = spec.relay.kind == "pipes"
        try:
            proc = WorkerProcess.spawn(
                spec.command,
                spec.env,
                pipes=pipes,
                credentials=spec.credentials,
                cwd=spec.cwd,
                key=spec.command_key,
            )
        except SpawnError as exc:
            raise AllocateError(f"static_pool_allocate_workers: WorkerAllocate: {exc}") from None
        try:
            relay = self._connect(proc, pipes)
        except AllocateError:
            proc.kill()
            proc.wait(timeout=1)
            proc.close()
            raise
        relay.max_frame_size = spec.max_frame_size  # trusted now, but not without bounds
        handle = WorkerHandle(proc, relay, jittered_max_jobs(spec.max_jobs), self.actor_ref)
        handle.mark_ready()
        self.handle = handle
        self._watcher = gevent.spawn(self._watch, handle)
        log.debug(
            "worker is allocated",
            extra={"fields": {"pid": proc.pid, "command": proc.command_line}},
        )
        return handle

    def _connect(self, proc: WorkerProcess, pipes: bool) -> Relay:
        from relays.server.handshake import handshake

        spec = self.spec
        budget = spec.allocate_timeout
        started = time.monotonic()
        try:
            if pipes:
                from relays.server.pipe import PipeRelay

                pipe = PipeRelay(
                    proc.popen.stdout.fileno(),
                    proc.popen.stdin.fileno(),
                    proc.pid,
                    command=proc.command_line,
                )
                handshake(pipe, budget)
                return pipe
            if spec.listener is None:
                raise RuntimeError(f"no socket listener for relay {spec.relay.raw}")
            return spec.listener.wait_for(proc.pid, min(budget, spec.relay_timeout), proc.alive)
        except Exception as exc:  # classify below; every failure names the worker
            elapsed = time.monotonic() - started
            raise AllocateError(self._boot_failure(proc, exc, elapsed)) from None

    def _boot_failure(self, proc: WorkerProcess, exc: BaseException, elapsed: float) -> str:
        from relays.errors import ProtocolError, RelayTimeoutError

        cmd = proc.command_line
        if isinstance(exc, ProtocolError | FrameError):
            return f"static_pool_allocate_workers: WorkerAllocate: {exc}"
        if isinstance(exc, RelayTimeoutError | gevent.Timeout) and proc.alive():
            relay = self.spec.relay
            hint = (
                "the worker did not answer the pid handshake in time; a slow boot or a "
                "debugger (xdebug) can do this: raise pool.allocate_timeout"
                if relay.kind == "pipes"
                else f"the worker never connected to {relay.raw}; its RR_RELAY must match "
                "server.relay and the process that connects must be the spawned one "
                "(no wrapper that forks)"
            )
            return (
                "static_pool_allocate_workers: WorkerAllocate: failed to spawn a worker within "
                f"{elapsed:.1f}s ({hint}); command {cmd!r}, pid {proc.pid}"
            )
        # The process died (or closed its relay) before the handshake.
        proc.wait(timeout=2.0)
        proc.drain_output(timeout=1.0)
        tail = proc.stderr_tail()
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        msg = (
            f"static_pool_allocate_workers: WorkerAllocate: worker {cmd!r} (pid {proc.pid}) "
            f"{proc.describe_exit()} before the handshake ({reason})"
        )
        if tail:
            msg += f"; last stderr lines:\n{tail}"
        else:
            msg += "; it wrote nothing to stderr"
        return msg

    # -- exit -------------------------------------------------------------------

    def _watch(self, handle: WorkerHandle) -> None:
        proc = handle.process
        try:
            code = proc.wait()
            handle.mark_exited(code)
            # Anything the worker left behind in its process group goes with it.
            proc.signal_group(9)
            proc.drain_output(timeout=1.0)
            with contextlib.suppress(Exception):
                handle.relay.close()
            proc.close()
            if self.spec.on_exit is not None:
                self.spec.on_exit(handle)
        finally:
            self._exited.set()
        with contextlib.suppress(pykka.ActorDeadError):  # stopped already (on_stop)
            self.stop()

    def on_stop(self) -> None:
        # Stopped while its process runs: the spawn finished after its caller gave up
        # (a replacement cancelled by a reset).  Nobody owns that worker: kill it; the
        # exit watcher then releases its relay and pipes.
        handle = self.handle
        if handle is not None and handle.process.alive():
            handle.destroy(RetireReason.ABANDONED)
            handle.process.kill()

    # -- stop / kill ------------------------------------------------------------------

    def stop_worker(self, timeout: float = STOP_GRACE) -> gevent.event.AsyncResult:
        """Start a graceful stop: the stop command, then SIGKILL after ``timeout``.

        The wait runs in a helper greenlet, not in this inbox; the returned
        result becomes True if the worker exited by itself, False if it was
        killed.  A second call while a stop runs returns the same result.
        """
        if self._stopping is None:
            self._stopping = gevent.event.AsyncResult()
            gevent.spawn(self._stop_process, timeout).link(self._stopping)
        return self._stopping

    def _stop_process(self, timeout: float) -> bool:
        handle = self.handle
        if handle is None:
            return True
        proc = handle.process
        if not proc.alive():
            return True
        handle.mark_stopping()
        try:
            handle.relay.send(STOP_COMMAND)
            handle.mark_stopped()
        except Exception:
            pass
        if proc.wait(timeout=timeout) is not None:
            return True
        log.warning(
            "worker doesn't respond on stop command, killing process",
            extra={"fields": {"pid": proc.pid, "timeout": timeout}},
        )
        proc.kill()
        proc.wait(timeout=5)
        return False

    def exited(self) -> gevent.event.Event:
        """Set once the exit has been fully processed (pipes closed, pool told)."""
        return self._exited


def start_worker(spec: WorkerSpec) -> WorkerHandle:
    """Start a WorkerActor and spawn its process; stops the actor on failure."""
    ref = WorkerActor.start(spec)
    try:
        return ref.proxy().spawn().get()
    except BaseException:
        with contextlib.suppress(pykka.ActorDeadError):
            ref.stop()
        raise


def stop_workers(handles: Sequence[WorkerHandle], timeout: float) -> None:
    """Gracefully stop many workers in parallel, bounded by ``timeout`` overall."""
    futures = []
    for h in handles:
        try:
            futures.append(h.actor.proxy().stop_worker(min(timeout, STOP_GRACE)))
        except pykka.ActorDeadError:
            continue
    results = []
    for f in futures:
        with contextlib.suppress(pykka.ActorDeadError, pykka.Timeout):
            results.append(f.get(timeout=5))
    deadline = time.monotonic() + timeout + 5
    for r in results:
        with contextlib.suppress(gevent.Timeout):
            r.get(timeout=max(0.0, deadline - time.monotonic()))


def start_workers(specs: Sequence[WorkerSpec]) -> list[WorkerHandle]:
    """Start several workers at once; all of them come up or none is kept.

    Raises the first failure as a :class:`PoolError`.  If the caller is
    killed meanwhile, the spawns in progress are killed too (their
    processes with them), so no worker is left without an owner.
    """
    # Each job returns its failure instead of raising it: a greenlet that dies of an
    # exception has gevent's hub print a raw traceback, and a worker that cannot boot
    # is an expected error, reported once, cleanly, by whoever called us.
    jobs = [gevent.spawn(_try_start_worker, spec) for spec in specs]
    try:
        gevent.joinall(jobs)
    except BaseException:
        gevent.killall(jobs)
        raise
    results = [j.value for j in jobs]
    started = [r for r in results if isinstance(r, WorkerHandle)]
    failed = [r for r in results if not isinstance(r, WorkerHandle)]
    if not failed:
        return started
    for h in started:
        h.destroy(RetireReason.ABANDONED)
    stop_workers(started, timeout=1.0)
    exc = failed[0]
    if isinstance(exc, PoolError):
        raise exc
    if exc is None:  # the job was killed before it could answer
        raise AllocateError("static_pool_allocate_workers: WorkerAllocate: the start was cancelled")
    raise AllocateError(f"static_pool_allocate_workers: WorkerAllocate: {exc}") from exc


def _try_start_worker(spec: WorkerSpec) -> WorkerHandle | Exception:
    """:func:`start_worker`, returning its failure instead of raising it."""
    try:
        return start_worker(spec)
    except Exception as exc:
        return exc
