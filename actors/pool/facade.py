"""The Pool facade: what callers use to run requests on a pool's workers.

A request runs in the caller's greenlet: take a worker from the
:class:`~actors.freelist.FreeList`, write and read frames on its relay, give
it back.  No actor mailbox is on this path; a worker that must not serve
again is handed to the :class:`~actors.pool.actor.PoolActor` with a tell.
Management calls (``reset``, ``destroy``) ask the actor to start the work
and wait for it outside the actor's inbox; ``workers()`` reads the
published roster and never waits for the actor.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event
import pykka

from actors.config import PoolConfig
from actors.errors import (
    PoolError,
    PoolStoppedError,
    QueueFullError,
    WorkerCrashedError,
    WorkerError,
)
from actors.freelist import FreeList
from actors.fsm import State
from actors.pool.actor import PoolActor
from actors.pool.roster import Roster
from actors.pool.stream import ResponseStream
from actors.worker import (
    RetireReason,
    Verdict,
    WorkerHandle,
    WorkerSpec,
    rss_bytes,
    start_worker,
)
from relays.control import STOP_CONTEXT
from relays.frame import ERROR, STREAM
from relays.payload import Payload

__all__ = ["Pool"]

_KEEP = Verdict.KEEP
_STOP = Verdict.STOP
_WORKING = State.WORKING


class Pool:
    """What callers use: ``exec``/``stream`` run in the calling greenlet.

    Several greenlets may call :meth:`exec` at once; each holds its own
    worker for the duration of its request.
    """

    def __init__(
        self,
        name: str,
        cfg: PoolConfig,
        spec_factory: Callable[[], WorkerSpec],
        *,
        request_flags: int = 0,
    ) -> None:
        self.name = name
        self.cfg = cfg
        self.request_flags = request_flags
        self.spec_factory = spec_factory
        self.free = FreeList(on_stale=self._retire)
        self.roster = Roster()
        self.actor: pykka.ActorRef[PoolActor] = PoolActor.start(
            name, cfg, spec_factory, self.free, self.roster
        )
        self._proxy = self.actor.proxy()
        self.queue = 0
        self.destroyed = False
        sup = cfg.supervisor
        self.exec_ttl = float(sup.exec_ttl) if sup is not None else 0.0
        #: Bytes (0: off). Also checked on release, not only every watch_tick: a worker
        #: that grows per request would otherwise overshoot by a tick's worth of requests.
        self.memory_limit = (sup.max_worker_memory << 20) if sup is not None else 0
        self.supervisor: pykka.ActorRef[Any] | None = None

    def start(self) -> Pool:
        """Allocate the workers (not in debug mode) and start supervising."""
        if not self.cfg.debug:
            self._proxy.allocate().get().get()
        if self.cfg.supervisor is not None and not self.cfg.debug:
            from actors.supervisor import SupervisorActor

            self.supervisor = SupervisorActor.start(
                self.name, self.cfg.supervisor, self.actor, self.roster
            )
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
        answer = self.answer(payload, cancel)
        return answer if isinstance(answer, ResponseStream) else ResponseStream(self, None, answer)

    def answer(
        self, payload: Payload, cancel: gevent.event.Event | None = None
    ) -> Payload | ResponseStream:
        """:meth:`stream`, except that a whole answer (the usual case) comes back as itself.

        The caller tells the two apart with ``isinstance``: for a Payload the worker is already
        back in the pool and nothing needs closing.  A streamed answer comes back as the
        :class:`ResponseStream` :meth:`stream` would return.  It spares the HTTP plugin the
        stream object, its iteration and its close on every request.
        """
        self._admit(payload)
        try:
            first, worker = self._run(payload, cancel)
        except BaseException:
            self.queue -= 1
            raise
        if worker is None:
            self.queue -= 1
            return first
        stream = ResponseStream(self, worker, first)
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
            return start_worker(self.spec_factory())
        return self.free.take(self.cfg.allocate_timeout, cancel)

    def _run(
        self, payload: Payload, cancel: gevent.event.Event | None
    ) -> tuple[Payload, WorkerHandle | None]:
        """Exchange the request with a worker; return the first answer frame.

        The worker comes back too when the answer is a stream (it stays
        checked out until the stream ends), else None (already released).
        """
        attempts = 0
        flags = payload.flags or self.request_flags
        debug = self.cfg.debug
        while True:
            w = self._take(cancel) if debug else self.free.take(self.cfg.allocate_timeout, cancel)
            if not w.check_out():
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
                w.abandon()
                self._release(w)
                raise
            try:
                frame = w.receive(self.exec_ttl)
                is_error = frame.flags & ERROR
                if not is_error:
                    options = frame.options
                    data = frame.payload
                    if len(options) == 1 and options[0] <= len(data):
                        # What w.split() does for a well-formed frame, without two calls.
                        context, body = data[: options[0]], data[options[0] :]
                    else:
                        context, body = w.split(frame)  # raises, killing the worker
            except BaseException:
                w.abandon()
                self._release(w)
                raise
            if is_error:
                # A soft error: the worker answered, so it stays in the pool.
                self._release(w)
                raise WorkerError(
                    "sync_worker_receive_frame: SoftJobError: "
                    + frame.payload.decode("utf-8", "replace")
                )
            if not body and context == STOP_CONTEXT and not frame.byte10 & STREAM:
                # The worker asked to be recycled: run the request elsewhere.
                w.invalidate(RetireReason.STOP_REQUESTED)
                self._release(w)
                attempts += 1
                if attempts > self.cfg.num_workers * 2 + 3:
                    raise WorkerError(
                        f"static_pool_exec: {attempts} workers in a row asked to stop instead "
                        "of answering; check the worker's stop() calls"
                    )
                continue
            if not frame.byte10 & STREAM:
                self._release(w)
                return Payload(body, context, frame.flags, True), None
            return Payload(body, context, frame.flags, False), w

    def _release(self, w: WorkerHandle) -> None:
        """Give a worker back, or have it retired, according to its state."""
        if self.cfg.debug:
            w.destroy(RetireReason.DEBUG)  # this greenlet is its only owner
            try:
                w.actor.proxy().stop_worker()
            except pykka.ActorDeadError:
                w.process.kill()
            return
        if self.memory_limit and w.state is _WORKING and rss_bytes(w.pid) >= self.memory_limit:
            w.invalidate(RetireReason.MEMORY)  # /proc/PID/statm: a few microseconds
        verdict = w.release()
        if verdict is _KEEP:
            self.free.put(w)
        elif verdict is _STOP:
            self._retire(w)

    def _retire(self, w: WorkerHandle) -> None:
        try:
            self._proxy.stop_retired(w)
        except pykka.ActorDeadError:
            w.process.kill()

    # -- management -------------------------------------------------------------------

    def workers(self) -> list[dict[str, Any]]:
        """pid, status, num_execs, memory_bytes, created_at... of every worker.

        Read from the roster the PoolActor publishes: it answers at once,
        even while a reset or destroy runs.
        """
        return [h.info() for h in self.roster.members]

    def add_worker(self) -> None:
        """Grow the pool by one worker (``informer.AddWorker``); it counts in resets too."""
        self._proxy.add_worker().get().get()

    def remove_worker(self) -> None:
        """Shrink the pool by one idle worker, stopped gracefully (``informer.RemoveWorker``).

        Waits like a request for an idle worker (``allocate_timeout``); the last worker
        cannot be removed.
        """
        self._proxy.remove_worker().get().get()

    def reset(self) -> None:
        """Replace every worker, waiting for in-flight requests up to reset_timeout."""
        self._proxy.reset().get().get()

    def destroy(self, timeout: float | None = None) -> None:
        """Stop the pool; in-flight requests finish first, up to destroy_timeout."""
        if self.destroyed:
            return
        self.destroyed = True
        if self.supervisor is not None:
            with contextlib.suppress(pykka.ActorDeadError):
                self.supervisor.stop()
        try:
            self._proxy.destroy(timeout).get().get()
            self.actor.stop()
        except pykka.ActorDeadError:
            pass
