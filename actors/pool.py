"""A pool of workers: the PoolActor (lifecycle) and the Pool facade (requests).

The :class:`PoolActor` is the only owner of the pool's set of workers: it
allocates them, replaces the ones that exit, resets and destroys.  Workers
and the supervisor tell it about exits and retirements; nothing asks it on
the request path.  The :class:`Pool` facade runs a request in the caller's
greenlet: take a worker from the :class:`~actors.freelist.FreeList`, write
and read frames on its relay, give it back.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import gevent
import gevent.event
import pykka

from actors.errors import (
    AllocateError,
    PoolError,
    PoolStoppedError,
    QueueFullError,
    WorkerCrashedError,
    WorkerError,
    WorkerProtocolError,
)
from actors.freelist import Cancelled, FreeList
from actors.fsm import State
from actors.runtime import GeventActor
from actors.worker import WorkerHandle, WorkerSpec, start_worker, stop_workers
from relays.control import STOP_CONTEXT
from relays.frame import Frame, FrameError
from relays.payload import Payload

__all__ = ["Cancelled", "Pool", "PoolActor", "ResponseStream"]

log = logging.getLogger("greenrunner.pool")

#: How long a failed replacement waits before the next try, at most.
MAX_RESPAWN_BACKOFF = 30.0
#: The longest pause between restarts of workers that keep dying right after starting.
MAX_CRASH_LOOP_BACKOFF = 10.0
#: A worker that lived this long before dying was not part of a crash loop.
HEALTHY_LIFETIME = 5.0


class PoolActor(GeventActor):
    """Owns the worker set of one pool; every change to the set happens here."""

    def __init__(
        self,
        name: str,
        cfg: Any,
        spec_factory: Callable[[], WorkerSpec],
        free: FreeList,
    ) -> None:
        super().__init__()
        self.name = name
        self.cfg = cfg
        self.spec_factory = spec_factory
        self.free = free
        self.handles: dict[int, WorkerHandle] = {}
        self.destroyed = False
        self._respawners: set[gevent.Greenlet] = set()
        self._fast_deaths = 0
        self._last_fast_death = 0.0

    def _spec(self) -> WorkerSpec:
        spec = self.spec_factory()
        me = self.actor_ref.proxy()

        def on_exit(handle: WorkerHandle) -> None:
            with contextlib.suppress(pykka.ActorDeadError):
                me.worker_exited(handle)

        spec.on_exit = on_exit
        return spec

    # -- allocation -----------------------------------------------------------------

    def allocate(self) -> None:
        """Spawn ``num_workers`` concurrently; all succeed or none is kept."""
        n = self.cfg.num_workers
        jobs = [gevent.spawn(start_worker, self._spec()) for _ in range(n)]
        gevent.joinall(jobs)
        failed = [j for j in jobs if not j.successful()]
        if failed:
            for j in jobs:
                if j.successful():
                    j.value.fsm.transition(State.DESTROYED)
            stop_workers([j.value for j in jobs if j.successful()], timeout=1.0)
            exc = failed[0].exception
            if isinstance(exc, PoolError):
                raise exc
            raise AllocateError(f"static_pool_allocate_workers: WorkerAllocate: {exc}") from exc
        for j in jobs:
            self._add(j.value)
        log.info(
            "pool started",
            extra={"fields": {"pool": self.name, "workers": n, "pids": sorted(self.handles)}},
        )

    def _add(self, handle: WorkerHandle) -> None:
        self.handles[handle.pid] = handle
        self.free.put(handle)

    def worker_ready(self, handle: WorkerHandle) -> None:
        """A replacement finished its handshake."""
        if self.destroyed:
            handle.fsm.transition(State.DESTROYED)
            handle.actor.proxy().stop_worker(1.0)
            return
        self._add(handle)

    def worker_exited(self, handle: WorkerHandle) -> None:
        """A worker process is gone; replace it unless it was removed on purpose."""
        known = self.handles.pop(handle.pid, None) is handle
        if not known or self.destroyed or handle.fsm.state is State.DESTROYED:
            return
        delay = self._crash_loop_delay(handle)
        expected = handle.retire_reason not in ("", "relay broken")
        log.log(
            logging.ERROR if delay else logging.INFO if expected else logging.WARNING,
            "worker stopped, and will be restarted"
            + (f" in {delay:g}s: workers keep dying right after they start" if delay else ""),
            extra={
                "fields": {
                    "pool": self.name,
                    "pid": handle.pid,
                    "state": handle.fsm.state.label,
                    "reason": handle.retire_reason or handle.process.describe_exit(),
                    "exit": handle.process.describe_exit(),
                }
            },
        )
        self._start_respawn(delay)

    def _crash_loop_delay(self, handle: WorkerHandle) -> float:
        """Back off when workers die unexpectedly soon after starting (a crash loop).

        A worker that boots, answers the handshake and dies would otherwise be
        replaced as fast as it boots, burning CPU and flooding the logs.  The
        third such death in a row waits 0.25 s, then the wait doubles up to
        ``MAX_CRASH_LOOP_BACKOFF``; a worker that lives ``HEALTHY_LIFETIME``
        or a quiet minute resets the count.
        """
        now = time.monotonic()
        unexpected = handle.retire_reason in ("", "relay broken")
        if not unexpected or now - handle.created >= HEALTHY_LIFETIME:
            self._fast_deaths = 0
            return 0.0
        if now - self._last_fast_death > 60.0:
            self._fast_deaths = 0
        self._last_fast_death = now
        self._fast_deaths += 1
        if self._fast_deaths < 3:
            return 0.0
        return min(0.25 * 2 ** (self._fast_deaths - 3), MAX_CRASH_LOOP_BACKOFF)

    def _start_respawn(self, delay: float = 0.0) -> None:
        g = gevent.spawn_later(delay, self._respawn) if delay else gevent.spawn(self._respawn)
        self._respawners.add(g)
        g.link(self._respawners.discard)

    def _respawn(self) -> None:
        """Spawn one replacement, retrying every second, then with backoff.

        RoadRunner panics when a pool can no longer be refilled; a pool that
        keeps trying (and answers "no free workers" meanwhile) heals by
        itself once the cause (a deploy, a full disk) is gone.
        """
        delay = 1.0
        started = time.monotonic()
        me = self.actor_ref.proxy()
        while not self.destroyed:
            try:
                handle = start_worker(self._spec())
            except Exception as exc:
                waited = time.monotonic() - started
                log.error(
                    "failed to allocate the worker, will retry",
                    extra={
                        "fields": {
                            "pool": self.name,
                            "error": str(exc),
                            "retry_in": delay,
                            "failing_for": round(waited, 1),
                        }
                    },
                )
                gevent.sleep(delay)
                if waited >= self.cfg.allocate_timeout:
                    delay = min(delay * 2, MAX_RESPAWN_BACKOFF)
                continue
            try:
                me.worker_ready(handle)
            except pykka.ActorDeadError:
                handle.actor.proxy().stop_worker(1.0)
            return

    def retire(self, handle: WorkerHandle) -> None:
        """Stop a worker that must not serve again; its exit brings a replacement."""
        if handle.process.alive():
            try:
                handle.actor.proxy().stop_worker()
            except pykka.ActorDeadError:
                handle.process.kill()

    # -- reset / destroy -------------------------------------------------------------

    def _wait_idle(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if not any(h.fsm.state is State.WORKING for h in self.handles.values()):
                return
            gevent.sleep(0.05)

    def reset(self) -> None:
        """Replace every worker; requests queue meanwhile instead of failing.

        If the new workers cannot start (a bad deploy), the error goes back
        to the caller and the pool keeps trying to refill itself, as after a
        crash, instead of sitting empty.
        """
        if self.destroyed:
            raise PoolStoppedError("static_pool_reset: the pool is destroyed")
        log.info("reset started", extra={"fields": {"pool": self.name}})
        self._cancel_respawns()  # the reset brings a full set; no extra worker may join later
        self.free.pause()
        try:
            self._wait_idle(time.monotonic() + self.cfg.reset_timeout)
            old = list(self.handles.values())
            self.handles.clear()
            for h in old:
                h.fsm.transition(State.DESTROYED)
            self.free.drain()
            stop_workers(old, timeout=self.cfg.reset_timeout)
            try:
                self.allocate()
            except PoolError as exc:
                log.error(
                    "reset could not start new workers; the pool keeps trying",
                    extra={"fields": {"pool": self.name, "error": str(exc)}},
                )
                for _ in range(self.cfg.num_workers):
                    self._start_respawn()
                raise
        finally:
            self.free.resume()
        log.info("reset finished", extra={"fields": {"pool": self.name}})

    def _cancel_respawns(self) -> None:
        for g in list(self._respawners):
            g.kill(block=False)

    def destroy(self, timeout: float | None = None) -> None:
        """Stop taking work, let in-flight requests finish, stop every worker."""
        if self.destroyed:
            return
        timeout = self.cfg.destroy_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        self.destroyed = True
        self.free.destroy()
        self._cancel_respawns()
        self._wait_idle(deadline)
        handles = list(self.handles.values())
        for h in handles:
            h.fsm.transition(State.DESTROYED)
        remaining = max(0.1, deadline - time.monotonic())
        stop_workers(handles, timeout=remaining)
        for h in handles:
            if h.process.alive():
                h.process.kill()
        for h in handles:
            with contextlib.suppress(pykka.ActorDeadError, pykka.Timeout):
                h.actor.proxy().wait_exit(2.0).get(timeout=3)
        self.handles.clear()
        log.info("pool destroyed", extra={"fields": {"pool": self.name}})

    # -- introspection ---------------------------------------------------------------

    def snapshot(self) -> list[WorkerHandle]:
        return list(self.handles.values())

    def workers_state(self) -> list[dict[str, Any]]:
        return [h.state() for h in sorted(self.handles.values(), key=lambda h: h.pid)]


class Pool:
    """What callers use: ``exec``/``stream`` run in the calling greenlet.

    Several greenlets may call :meth:`exec` at once; each holds its own
    worker for the duration of its request.
    """

    def __init__(
        self,
        name: str,
        cfg: Any,
        spec_factory: Callable[[], WorkerSpec],
        *,
        request_flags: int = 0,
    ) -> None:
        self.name = name
        self.cfg = cfg
        self.request_flags = request_flags
        self.spec_factory = spec_factory
        self.free = FreeList(on_stale=self._retire)
        self.actor = PoolActor.start(name, cfg, spec_factory, self.free)
        self._proxy = self.actor.proxy()
        self.queue = 0
        self.destroyed = False
        sup = cfg.supervisor
        self.exec_ttl = float(sup.exec_ttl) if sup is not None else 0.0
        self.supervisor = None

    def start(self) -> Pool:
        """Allocate the workers (not in debug mode) and start supervising."""
        if not self.cfg.debug:
            self._proxy.allocate().get()
        if self.cfg.supervisor is not None and not self.cfg.debug:
            from actors.supervisor import SupervisorActor

            self.supervisor = SupervisorActor.start(self.name, self.cfg.supervisor, self.actor)
        return self

    # -- the request path ----------------------------------------------------------------

    def exec(self, payload: Payload, cancel: gevent.event.Event | None = None) -> Payload:
        """Run one request and return the whole answer (stream chunks joined)."""
        self._admit(payload)
        try:
            first, worker = self._run(payload, cancel)
            if worker is None:
                return first
            parts = [first.body]
            parts.extend(chunk.body for chunk in ResponseStream(self, worker, None))
            return Payload(b"".join(parts), first.context, first.flags, True)
        finally:
            self.queue -= 1

    def stream(self, payload: Payload, cancel: gevent.event.Event | None = None) -> ResponseStream:
        """Run one request; iterate the answer chunk by chunk.

        ``cancel`` is set by the caller when its client went away: a request
        still waiting for a worker gives up its place (raises ``Cancelled``).
        """
        self._admit(payload)
        try:
            first, worker = self._run(payload, cancel)
        except BaseException:
            self.queue -= 1
            raise
        stream = ResponseStream(self, worker, first)
        if worker is None:
            self.queue -= 1
        else:
            stream.on_done = self._stream_done
        return stream

    def _admit(self, payload: Payload) -> None:
        if not payload.body and not payload.context:
            raise PoolError("static_pool_exec: payload can not be empty")
        if self.destroyed:
            raise PoolStoppedError(
                "static_pool_exec: Workers watcher stopped: the pool is destroyed"
            )
        limit = self.cfg.max_queue_size
        if limit and self.queue >= limit:
            raise QueueFullError(
                f"static_pool_exec: QueueSize: max queue size reached ({limit} requests "
                f"waiting or running; raise pool.max_queue_size or pool.num_workers)"
            )
        self.queue += 1

    def _stream_done(self) -> None:
        self.queue -= 1

    def _take(self, cancel: gevent.event.Event | None) -> WorkerHandle:
        if self.cfg.debug:
            return start_worker(self._debug_spec())
        return self.free.take(self.cfg.allocate_timeout, cancel)

    def _debug_spec(self) -> WorkerSpec:
        return self.spec_factory()

    def _run(
        self, payload: Payload, cancel: gevent.event.Event | None
    ) -> tuple[Payload, WorkerHandle | None]:
        """Exchange the request with a worker; return the first answer frame.

        The worker comes back too when the answer is a stream (it stays
        checked out until the stream ends), else None (already released).
        """
        attempts = 0
        flags = payload.flags or self.request_flags
        while True:
            w = self._take(cancel)
            if not w.fsm.transition(State.WORKING):
                continue  # retired between the hand-over and now
            try:
                w.send(payload, flags)
            except WorkerCrashedError:
                # The worker died before it could read the request (EPIPE on its
                # stdin or socket): nothing ran, so another worker may take it.
                self._release(w)
                attempts += 1
                if attempts > self.cfg.num_workers + 3:
                    raise
                continue
            except BaseException:
                _abandon(w)
                self._release(w)
                raise
            try:
                frame = w.receive(self.exec_ttl)
                if not frame.is_error:
                    context, body = _split(w, frame)
            except BaseException:
                _abandon(w)
                self._release(w)
                raise
            if frame.is_error:
                # A soft error: the worker answered, so it stays in the pool.
                self._release(w)
                raise WorkerError(
                    "sync_worker_receive_frame: SoftJobError: "
                    + frame.payload.decode("utf-8", "replace")
                )
            if not body and context == STOP_CONTEXT and not frame.is_stream:
                # The worker asked to be recycled: run the request elsewhere.
                w.fsm.transition(State.INVALID)
                w.retire_reason = "worker requested stop"
                self._release(w)
                attempts += 1
                if attempts > self.cfg.num_workers * 2 + 3:
                    raise WorkerError(
                        f"static_pool_exec: {attempts} workers in a row asked to stop instead "
                        "of answering; check the worker's stop() calls"
                    )
                continue
            if not frame.is_stream:
                self._release(w)
                return Payload(body, context, frame.flags, True), None
            return Payload(body, context, frame.flags, False), w

    def _release(self, w: WorkerHandle) -> None:
        """Give a worker back, or retire it, according to its state."""
        state = w.fsm.state
        if self.cfg.debug:
            w.fsm.transition(State.DESTROYED)
            try:
                w.actor.proxy().stop_worker()
            except pykka.ActorDeadError:
                w.process.kill()
            return
        if state is State.WORKING:
            if w.max_execs and w.num_execs >= w.max_execs:
                w.fsm.transition(State.MAX_JOBS_REACHED)
                w.retire_reason = "max_jobs"
                self._retire(w)
                return
            w.fsm.transition(State.READY)
            self.free.put(w)
        elif state is State.READY:
            self.free.put(w)
        elif state in (State.ERRORED, State.EXEC_TTL_REACHED):
            return  # killed already; its exit brings the replacement
        else:
            self._retire(w)

    def _retire(self, w: Any) -> None:
        try:
            self._proxy.retire(w)
        except pykka.ActorDeadError:
            w.process.kill()

    # -- management -------------------------------------------------------------------

    def workers(self) -> list[dict[str, Any]]:
        """pid, status, num_execs, memory_bytes, created_at... of every worker."""
        try:
            return self._proxy.workers_state().get()
        except pykka.ActorDeadError:
            return []

    def reset(self) -> None:
        """Replace every worker, waiting for in-flight requests up to reset_timeout."""
        self._proxy.reset().get()

    def destroy(self, timeout: float | None = None) -> None:
        """Stop the pool; in-flight requests finish first, up to destroy_timeout."""
        if self.destroyed:
            return
        self.destroyed = True
        if self.supervisor is not None:
            with contextlib.suppress(pykka.ActorDeadError):
                self.supervisor.stop()
        try:
            self._proxy.destroy(timeout).get()
            self.actor.stop()
        except pykka.ActorDeadError:
            pass


def _abandon(w: WorkerHandle) -> None:
    """An exchange was interrupted mid-way: the relay may hold a stale answer."""
    if w.fsm.state is State.WORKING:
        w.fsm.transition(State.INVALID)
        w.retire_reason = "request interrupted"


def _split(w: WorkerHandle, frame: Frame) -> tuple[bytes, bytes]:
    try:
        return frame.split()
    except FrameError as exc:
        w.fsm.transition(State.ERRORED)
        w.retire_reason = "bad response frame"
        w.process.kill()
        raise WorkerProtocolError(
            f"sync_worker_receive_frame: Decode: {exc.reason} (worker pid {w.pid})"
        ) from None


class ResponseStream(Iterator[Payload]):
    """The answer to one request: a single payload or a stream of chunks.

    While a stream is open the worker stays checked out; it goes back to
    the pool when the last chunk has been read, or after :meth:`cancel`.
    """

    def __init__(self, pool: Pool, worker: WorkerHandle | None, first: Payload | None) -> None:
        self.pool = pool
        self.worker = worker
        self._first: Payload | None = first
        self.done = worker is None
        self.on_done: Callable[[], None] | None = None

    def __iter__(self) -> ResponseStream:
        return self

    def __next__(self) -> Payload:
        first = self._first
        if first is not None:
            self._first = None
            return first
        w = self.worker
        if self.done or w is None:
            raise StopIteration
        try:
            frame = w.receive(self.pool.exec_ttl)
            if frame.is_error:
                w.fsm.transition(State.INVALID)
                raise WorkerError(
                    "sync_worker_receive_frame: SoftJobError: "
                    + frame.payload.decode("utf-8", "replace")
                )
            context, body = _split(w, frame)
        except BaseException:
            _abandon(w)
            self._finish()
            raise
        chunk = Payload(body, context, frame.flags, not frame.is_stream)
        if chunk.end_of_stream:
            self._finish()
        return chunk

    def cancel(self) -> None:
        """The consumer went away: tell the worker to stop the stream."""
        if self.done or self.worker is None:
            self._first = None
            return
        worker = self.worker
        try:
            if not worker.cancel_stream(self.pool.cfg.stream_timeout):
                worker.retire_reason = "stream not stopped in time"
        except BaseException:
            _abandon(worker)  # interrupted mid-drain: the relay may hold stale frames
            raise
        finally:
            self._finish()

    def close(self) -> None:
        if not self.done:
            self.cancel()

    def _finish(self) -> None:
        if self.done:
            return
        self.done = True
        w, self.worker = self.worker, None
        if w is not None:
            self.pool._release(w)
        if self.on_done is not None:
            self.on_done()
