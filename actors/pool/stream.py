"""The answer to one request: a single payload or a stream of chunks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from actors.errors import WorkerError
from actors.worker import RetireReason, WorkerHandle
from relays.payload import Payload

if TYPE_CHECKING:
    from actors.pool.facade import Pool

__all__ = ["ResponseStream"]


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
                # Mid-stream the worker's state is unknown: it is not reused.
                w.invalidate(RetireReason.STREAM_ERROR)
                raise WorkerError(
                    "sync_worker_receive_frame: SoftJobError: "
                    + frame.payload.decode("utf-8", "replace")
                )
            context, body = w.split(frame)
        except BaseException:
            w.abandon()
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
            worker.cancel_stream(self.pool.cfg.stream_timeout)
        except BaseException:
            worker.abandon()  # interrupted mid-drain: the relay may hold stale frames
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
