"""One worker: its actor (process lifecycle) and its handle (the request path).

The :class:`WorkerActor` owns the process: it spawns it, performs the relay
handshake, watches for its exit (told upward to the pool) and stops or kills
it.  The :class:`WorkerHandle` is what a request greenlet holds while the
worker is checked out of the free list: it writes the request frame and
reads the answer directly on the relay, so a request costs no actor hop.
Exclusive check-out is what makes that safe: only the holder touches the
relay between ``take`` and ``release``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import gevent
import pykka

from actors.errors import (
    AllocateError,
    ExecTTLError,
    WorkerCrashedError,
    WorkerProtocolError,
)
from actors.fsm import State, WorkerFSM
from actors.process import Credentials, SpawnError, WorkerProcess
from actors.runtime import GeventActor
from relays.control import PONG_FRAME, STOP_COMMAND, STREAM_STOP_FRAME
from relays.errors import RelayError
from relays.frame import (
    PING,
    Frame,
    FrameError,
    RelayClosedError,
    encode_data_frame,
)
from relays.payload import Payload

__all__ = ["WorkerActor", "WorkerHandle", "WorkerSpec"]

log = logging.getLogger("greenrunner.pool")


#: RoadRunner waits this long for a worker to obey the stop command.
STOP_GRACE = 10.0

#: Jitter added to max_jobs, in percent (RoadRunner: maxExecsPercentJitter).
MAX_JOBS_JITTER = 15


@dataclass
class WorkerSpec:
    """Everything needed to start one worker of a pool."""

    command: list[str]
    env: dict[str, str]
    relay: Any  # relays.dsn.RelayAddress
    credentials: Credentials = field(default_factory=Credentials)
    allocate_timeout: float = 60.0
    relay_timeout: float = 60.0
    max_jobs: int = 0
    listener: Any = None  # relays.server.socket.SocketListener for tcp/unix relays
    command_key: str = "server.command"
    cwd: str | None = None
    on_exit: Callable[[WorkerHandle], None] | None = None


def jittered_max_jobs(max_jobs: int) -> int:
    """Spread restarts so workers started together do not all recycle at once."""
    if max_jobs <= 1:
        return max_jobs
    return max_jobs + (max_jobs * random.randrange(MAX_JOBS_JITTER)) // 100


class WorkerHandle:
    """A live worker as the request path and the supervisor see it."""

    __slots__ = (
        "actor",
        "created",
        "created_ns",
        "fsm",
        "last_used",
        "max_execs",
        "num_execs",
        "process",
        "relay",
        "retire_reason",
    )

    def __init__(self, process: WorkerProcess, relay: Any, max_execs: int, actor: Any) -> None:
        self.process = process
        self.relay = relay
        self.fsm = WorkerFSM(process.pid)
        self.created = time.monotonic()
        self.created_ns = time.time_ns()
        self.last_used = 0.0
        self.num_execs = 0
        self.max_execs = max_execs
        self.actor = actor  # ActorRef of the owning WorkerActor
        self.retire_reason = ""

    @property
    def pid(self) -> int:
        return self.process.pid

    def __repr__(self) -> str:
        return f"<worker pid={self.pid} {self.fsm.state.label}>"

    # -- request path -------------------------------------------------------

    def send(self, payload: Payload, flags: int) -> None:
        """Send one request frame.  Raises :class:`WorkerCrashedError` if the relay is gone."""
        self.last_used = time.monotonic()
        try:
            self.relay.send(encode_data_frame(payload.context, payload.body, flags))
        except (OSError, RelayClosedError) as exc:
            self._broken()
            raise WorkerCrashedError(
                f"sync_worker_send_frame: Network: {exc or 'relay closed'} "
                f"(worker pid {self.pid} {self.process.describe_exit()})"
            ) from None
        self.num_execs += 1

    def receive(self, exec_ttl: float) -> Frame:
        """Read the next frame of the answer, answering PINGs on the way.

        ``exec_ttl`` (0 = none) is the hard limit: when it expires the worker
        is killed, because a worker stuck in user code cannot be interrupted
        any other way.
        """
        timer = gevent.Timeout(exec_ttl) if exec_ttl > 0 else None
        if timer is not None:
            timer.start()
        try:
            frame = self.relay.receive()
            if frame.byte10 & PING:
                self.relay.send(PONG_FRAME)
                self.num_execs += 1  # RoadRunner counts PONGs as execs
            return frame
        except gevent.Timeout as exc:
            if exc is not timer:
                raise
            self.fsm.transition(State.EXEC_TTL_REACHED)
            self.retire_reason = "execTTL timeout elapsed"
            self.process.kill()
            raise ExecTTLError(
                f"worker_exec_with_timeout: ExecTTL: context deadline exceeded "
                f"(exec_ttl={exec_ttl:g}s; worker pid {self.pid} was killed)"
            ) from None
        except RelayClosedError as exc:
            self._broken()
            self.process.wait(timeout=0.2)
            raise WorkerCrashedError(
                f"sync_worker_receive_frame: Network: EOF (worker pid {self.pid} "
                f"{self.process.describe_exit()} while handling the request: {exc})"
            ) from None
        except (FrameError, RelayError) as exc:
            self._broken()
            raise WorkerProtocolError(
                f"sync_worker_receive_frame: Network: {exc} (worker pid {self.pid}, "
                f"{self.process.command_line!r})"
            ) from None
        except OSError as exc:
            self._broken()
            raise WorkerCrashedError(
                f"sync_worker_receive_frame: Network: {exc} (worker pid {self.pid})"
            ) from None
        finally:
            if timer is not None:
                timer.close()

    def cancel_stream(self, stream_timeout: float) -> bool:
        """Ask the worker to stop its stream and drain to the end frame.

        Returns False (and kills the worker) if it does not end the stream
        within ``stream_timeout``.
        """
        timer = gevent.Timeout(stream_timeout)
        try:
            self.relay.send(STREAM_STOP_FRAME)
            timer.start()
            while True:
                frame = self.relay.receive()
                if frame.byte10 & PING:
                    self.relay.send(PONG_FRAME)
                if not frame.is_stream:
                    return True
        except gevent.Timeout as exc:
            if exc is not timer:
                raise  # the caller's own deadline, not ours
            log.warning(
                "worker did not end its stream after STOP, killing it",
                extra={"fields": {"pid": self.pid, "stream_timeout": stream_timeout}},
            )
        except (OSError, RelayClosedError, FrameError, RelayError):
            pass
        finally:
            timer.close()
        self._broken()
        return False

    def _broken(self) -> None:
        self.fsm.transition(State.ERRORED)
        if not self.retire_reason:
            self.retire_reason = "relay broken"
        self.process.kill()

    def state(self) -> dict[str, Any]:
        """The informer's view (``rr workers``), plus Greenrunner's own names."""
        rss = rss_bytes(self.pid)
        return {
            "pid": self.pid,
            "status": int(self.fsm.state),
            "statusStr": self.fsm.state.label,
            "numExecs": self.num_execs,
            "created": self.created_ns,
            "memoryUsage": rss,
            "CPUPercent": 0.0,
            "command": "",
            # Pythonic aliases for the embedding API.
            "num_execs": self.num_execs,
            "memory_bytes": rss,
            "created_at": self.created_ns / 1e9,
        }


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes(pid: int) -> int:
    """RSS of one process, as RoadRunner measures it (``/proc/PID/statm``)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


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
        handle = WorkerHandle(proc, relay, jittered_max_jobs(spec.max_jobs), self.actor_ref)
        handle.fsm.require(State.READY)
        self.handle = handle
        self._watcher = gevent.spawn(self._watch, handle)
        log.debug(
            "worker is allocated",
            extra={"fields": {"pid": proc.pid, "command": proc.command_line}},
        )
        return handle

    def _connect(self, proc: WorkerProcess, pipes: bool) -> Any:
        from relays.server.handshake import handshake

        spec = self.spec
        budget = spec.allocate_timeout
        started = time.monotonic()
        try:
            if pipes:
                from relays.server.pipe import PipeRelay

                relay = PipeRelay(
                    proc.popen.stdout.fileno(),
                    proc.popen.stdin.fileno(),
                    proc.pid,
                    command=proc.command_line,
                )
                handshake(relay, budget)
                return relay
            relay = spec.listener.wait_for(proc.pid, min(budget, spec.relay_timeout), proc.alive)
            return relay
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
        code = proc.wait()
        if code not in (0, None) and not handle.fsm.retiring:
            handle.fsm.transition(State.ERRORED)
        elif not handle.fsm.retiring:
            handle.fsm.transition(State.STOPPED)
        # Anything the worker left behind in its process group goes with it.
        proc.signal_group(9)
        proc.drain_output(timeout=1.0)
        with contextlib.suppress(Exception):
            handle.relay.close()
        proc.close()
        if self.spec.on_exit is not None:
            self.spec.on_exit(handle)
        with contextlib.suppress(pykka.ActorDeadError):  # stopped already (on_stop)
            self.stop()

    def on_stop(self) -> None:
        # Stopped while its process runs: the spawn finished after its caller gave up
        # (a replacement cancelled by a reset).  Nobody owns that worker: kill it; the
        # exit watcher then releases its relay and pipes.
        handle = self.handle
        if handle is not None and handle.process.alive():
            handle.fsm.transition(State.DESTROYED)
            handle.process.kill()

    # -- stop / kill ------------------------------------------------------------------

    def stop_worker(self, timeout: float = STOP_GRACE) -> bool:
        """Graceful stop: the stop command, then SIGKILL after ``timeout``.

        Returns True if the worker exited by itself.
        """
        handle = self.handle
        if handle is None:
            return True
        proc = handle.process
        if not proc.alive():
            return True
        handle.fsm.transition(State.STOPPING)
        try:
            handle.relay.send(STOP_COMMAND)
            handle.fsm.transition(State.STOPPED)
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

    def wait_exit(self, timeout: float | None = None) -> bool:
        """Block until the exit has been fully processed (pipes closed, pool told)."""
        if self._watcher is None:
            return True
        self._watcher.join(timeout=timeout)
        return self._watcher.dead


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
    for f in futures:
        with contextlib.suppress(pykka.ActorDeadError, pykka.Timeout):
            f.get(timeout=timeout + 5)
