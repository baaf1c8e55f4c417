"""A live worker as the request path, the pool and the supervisor see it.

A :class:`WorkerHandle` holds one worker's relay, state machine, counters and
retire reason.  Its fields are private; the methods below are the only way
to change them, and each has one kind of caller:

=====================================  ============================================
caller                                 methods
=====================================  ============================================
the request greenlet holding the       ``check_out``, ``send``, ``receive``, ``split``,
worker (``Pool``, ``ResponseStream``)  ``cancel_stream``, ``abandon``, ``invalidate``,
                                       ``fail``, ``release``; ``destroy`` (debug
                                       mode, where that greenlet is the only owner)
the ``PoolActor`` (it decides which    ``retire`` (a limit, asked by the supervisor),
workers exist)                         ``destroy`` (reset, destroy, unwanted spawns)
the ``WorkerActor`` (the process)      ``mark_ready``, ``mark_stopping``,
                                       ``mark_stopped``, ``mark_exited``, ``destroy``
anyone                                 the read-only properties and ``info()``
=====================================  ============================================

The supervisor never changes a handle: it tells the pool ``retire(handle,
reason)`` and the pool decides.  Greenlets share one OS thread, so each
method's check-and-set is atomic as long as it does not yield; no lock.

A retire reason follows the state transition that set it: a later accepted
transition (a crash after a ``ttl`` mark, say) replaces it.  ``destroy``
keeps an earlier reason (a crashed worker removed by a reset still crashed),
and nothing changes a ``destroyed`` worker any more.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import gevent

from actors.errors import ExecTTLError, WorkerCrashedError, WorkerProtocolError
from actors.fsm import RETIRING, State, WorkerFSM
from actors.worker.reason import RetireReason, Verdict
from actors.worker.usage import cpu_percent, rss_bytes
from relays.control import PONG_FRAME, STREAM_STOP_FRAME
from relays.errors import RelayError
from relays.frame import (
    PING,
    Frame,
    FrameError,
    FrameTooLargeError,
    RelayClosedError,
    encode_data_frame,
)
from relays.payload import Payload

if TYPE_CHECKING:
    import pykka

    from actors.process import WorkerProcess
    from relays.server.base import Relay

__all__ = ["WorkerHandle", "rss_bytes"]

log = logging.getLogger("greenrunner.pool")

_GONE_STATES = frozenset({State.ERRORED, State.EXEC_TTL_REACHED})
_READY = State.READY
_WORKING = State.WORKING
_KEEP = Verdict.KEEP


class WorkerHandle:
    """One worker: its relay (request path), state machine and counters."""

    __slots__ = (
        "_actor",
        "_created",
        "_created_ns",
        "_fsm",
        "_last_used",
        "_max_execs",
        "_num_execs",
        "_process",
        "_reason",
        "_relay",
    )

    def __init__(
        self, process: WorkerProcess, relay: Relay, max_execs: int, actor: pykka.ActorRef[Any]
    ) -> None:
        self._process = process
        self._relay = relay
        self._fsm = WorkerFSM(process.pid)
        self._created = time.monotonic()
        self._created_ns = time.time_ns()
        self._last_used = 0.0
        self._num_execs = 0
        self._max_execs = max_execs
        self._actor = actor
        self._reason: RetireReason | None = None

    # -- read-only view ---------------------------------------------------------------

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def state(self) -> State:
        return self._fsm.state

    @property
    def retiring(self) -> bool:
        """True once the worker will never serve again."""
        return self._fsm.state in RETIRING

    @property
    def retire_reason(self) -> RetireReason | None:
        """Why it stopped serving; None while it serves."""
        return self._reason

    @property
    def exit_expected(self) -> bool:
        """True if it left for a planned reason (a limit, a reset), False for a fault."""
        return self._reason is not None and self._reason.expected

    @property
    def num_execs(self) -> int:
        return self._num_execs

    @property
    def max_execs(self) -> int:
        return self._max_execs

    @property
    def last_used(self) -> float:
        """``time.monotonic()`` of its last request; 0.0 if it never had one."""
        return self._last_used

    @property
    def created(self) -> float:
        """``time.monotonic()`` when it became ready (the supervisor's ``ttl`` origin)."""
        return self._created

    @property
    def created_ns(self) -> int:
        return self._created_ns

    @property
    def process(self) -> WorkerProcess:
        return self._process

    @property
    def relay(self) -> Relay:
        return self._relay

    @property
    def actor(self) -> pykka.ActorRef[Any]:
        """The owning :class:`~actors.worker.actor.WorkerActor`."""
        return self._actor

    def describe_reason(self) -> str:
        """The retire reason as logs print it (a crash: how the process exited)."""
        reason = self._reason
        if reason is None or reason is RetireReason.CRASHED:
            return self._process.describe_exit()
        return reason.text

    def __repr__(self) -> str:
        return f"<worker pid={self.pid} {self._fsm.state.label}>"

    def info(self) -> dict[str, Any]:
        """The informer's view (``rr workers``), plus Greenrunner's own names."""
        rss = rss_bytes(self.pid)
        return {
            "pid": self.pid,
            "status": int(self._fsm.state),
            "statusStr": self._fsm.state.label,
            "numExecs": self._num_execs,
            "created": self._created_ns,
            "memoryUsage": rss,
            "CPUPercent": cpu_percent(self.pid),
            "command": "",
            # Pythonic aliases for the embedding API.
            "num_execs": self._num_execs,
            "memory_bytes": rss,
            "created_at": self._created_ns / 1e9,
        }

    # -- transitions (private) --------------------------------------------------------

    def _to(self, reason: RetireReason, state: State | None = None) -> bool:
        """Move to ``state`` (default: the reason's) and record ``reason`` if accepted."""
        if not self._fsm.transition(reason.state if state is None else state):
            return False
        self._reason = reason
        return True

    # -- the request greenlet that holds the worker -------------------------------------

    def check_out(self) -> bool:
        """READY -> WORKING; False if it stopped being ready (retired meanwhile)."""
        fsm = self._fsm
        if fsm.state is _READY:  # the legal case, without a call: this is the request path
            fsm.state = _WORKING
            return True
        return fsm.transition(_WORKING)  # refused (and logged at debug level)

    def send(self, payload: Payload, flags: int) -> None:
        """Send one request frame.  Raises :class:`WorkerCrashedError` if the relay is gone."""
        self._last_used = time.monotonic()
        try:
            self._relay.send(encode_data_frame(payload.context, payload.body, flags))
        except (OSError, RelayClosedError) as exc:
            self._lost_relay()
            raise WorkerCrashedError(
                f"sync_worker_send_frame: Network: {exc or 'relay closed'} "
                f"(worker pid {self.pid} {self._process.describe_exit()})"
            ) from None
        self._num_execs += 1

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
            frame = self._relay.receive()
            if frame.byte10 & PING:
                self._relay.send(PONG_FRAME)
                self._num_execs += 1  # RoadRunner counts PONGs as execs
            return frame
        except gevent.Timeout as exc:
            if exc is not timer:
                raise
            self.fail(RetireReason.EXEC_TTL)
            raise ExecTTLError(
                f"worker_exec_with_timeout: ExecTTL: context deadline exceeded "
                f"(exec_ttl={exec_ttl:g}s; worker pid {self.pid} was killed)"
            ) from None
        except RelayClosedError as exc:
            self._lost_relay()
            raise WorkerCrashedError(
                f"sync_worker_receive_frame: Network: EOF (worker pid {self.pid} "
                f"{self._process.describe_exit()} while handling the request: {exc})"
            ) from None
        except FrameTooLargeError as exc:
            # Refused on the header: nothing of the payload was buffered. Killing the
            # worker is the only way to stop what it keeps streaming.
            self.fail(RetireReason.BAD_FRAME)
            raise WorkerProtocolError(
                f"sync_worker_receive_frame: FrameTooLarge: worker pid {self.pid} announced "
                f"a frame of {exc.size} bytes, over server.max_frame_size ({exc.limit} "
                f"bytes); the worker was killed and will be replaced (send big answers "
                f"as a stream, or raise server.max_frame_size)"
            ) from None
        except (FrameError, RelayError) as exc:
            self.fail(RetireReason.BROKEN)
            raise WorkerProtocolError(
                f"sync_worker_receive_frame: Network: {exc} (worker pid {self.pid}, "
                f"{self._process.command_line!r})"
            ) from None
        except OSError as exc:
            self.fail(RetireReason.BROKEN)
            raise WorkerCrashedError(
                f"sync_worker_receive_frame: Network: {exc} (worker pid {self.pid})"
            ) from None
        finally:
            if timer is not None:
                timer.close()

    def split(self, frame: Frame) -> tuple[bytes, bytes]:
        """``(context, body)`` of an answer frame; a garbled frame kills the worker."""
        try:
            return frame.split()
        except FrameError as exc:
            self.fail(RetireReason.BAD_FRAME)
            raise WorkerProtocolError(
                f"sync_worker_receive_frame: Decode: {exc.reason} (worker pid {self.pid})"
            ) from None

    def cancel_stream(self, stream_timeout: float) -> bool:
        """Ask the worker to stop its stream and drain to the end frame.

        Returns False (and kills the worker) if it does not end the stream
        within ``stream_timeout``.
        """
        timer = gevent.Timeout(stream_timeout)
        try:
            self._relay.send(STREAM_STOP_FRAME)
            timer.start()
            while True:
                frame = self._relay.receive()
                if frame.byte10 & PING:
                    self._relay.send(PONG_FRAME)
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
        self.fail(RetireReason.STREAM_NOT_STOPPED)
        return False

    def abandon(self) -> None:
        """An exchange was interrupted mid-way: the relay may hold a stale answer."""
        if self._fsm.state is State.WORKING:
            self._to(RetireReason.INTERRUPTED)

    def invalidate(self, reason: RetireReason) -> None:
        """Never serve again; stopped when released (``reason``: why)."""
        self._to(reason, State.INVALID)

    def fail(self, reason: RetireReason) -> None:
        """Kill the worker now: its relay can no longer be trusted (``reason``: why)."""
        self._to(reason)
        self._process.kill()

    def _lost_relay(self) -> None:
        """The relay broke: most likely the process died.  Kill it only if it did not.

        Waiting for the exit first (the usual case: a few milliseconds) keeps a
        death that was not ours from looking like our kill, so the pool can tell
        a worker killed from outside from a crash loop.
        """
        self._to(RetireReason.BROKEN)
        if self._process.wait(timeout=0.2) is None:
            self._process.kill()
            self._process.wait(timeout=0.2)

    def release(self) -> Verdict:
        """The request is over: READY again (``KEEP``), or ``STOP`` it, or ``GONE``."""
        fsm = self._fsm
        state = fsm.state
        if state is _WORKING:
            if self._max_execs and self._num_execs >= self._max_execs:
                self._to(RetireReason.MAX_JOBS)
                return Verdict.STOP
            fsm.state = _READY  # WORKING -> READY is always legal; no call on the request path
            return _KEEP
        if state is _READY:
            return _KEEP
        if state in _GONE_STATES:
            return Verdict.GONE  # killed already; its exit brings the replacement
        return Verdict.STOP

    # -- the PoolActor ----------------------------------------------------------------------

    def retire(self, reason: RetireReason) -> Verdict:
        """A limit was reached: ``STOP`` an idle worker now, or ``DEFERRED`` (busy).

        A busy worker is marked ``invalid`` and finishes its request first;
        a worker already on its way out is left alone (``GONE``).
        """
        state = self._fsm.state
        if state is State.READY:
            self._to(reason)
            return Verdict.STOP
        if state is State.WORKING:
            self._to(reason, State.INVALID)
            return Verdict.DEFERRED
        return Verdict.GONE

    def destroy(self, reason: RetireReason) -> None:
        """Final: the worker is removed on purpose and will not be replaced."""
        if self._fsm.transition(State.DESTROYED) and self._reason is None:
            self._reason = reason

    # -- the WorkerActor ----------------------------------------------------------------------

    def mark_ready(self) -> None:
        """The handshake is done: INACTIVE -> READY."""
        self._fsm.require(State.READY)

    def mark_stopping(self) -> None:
        self._fsm.transition(State.STOPPING)

    def mark_stopped(self) -> None:
        self._fsm.transition(State.STOPPED)

    def mark_exited(self, code: int | None) -> None:
        """The process is gone.  An exit nobody asked for is recorded as a crash."""
        if not self.retiring:
            self._fsm.transition(State.ERRORED if code not in (0, None) else State.STOPPED)
        if self._reason is None:
            self._reason = RetireReason.CRASHED
