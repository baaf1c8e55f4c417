"""A pykka runtime on gevent greenlets, without monkey-patching.

Pykka 4 ships only a threading runtime.  Monkey-patching the whole process
would make ``ThreadingActor`` run on greenlets, but it also rewires every
embedding application, and an ``ask`` through patched threading primitives
costs roughly twice as much as one through gevent's own queue and event.
So each actor here gets a gevent inbox, a gevent-backed future and its own
greenlet, which is what pykka's ``_create_actor_inbox`` / ``_create_future``
/ ``_start_actor_loop`` hooks exist for.
"""

from __future__ import annotations

import queue
import sys
from typing import Any, TypeVar

import gevent
import gevent.event
import gevent.queue
import pykka
from pykka import Future, Timeout

__all__ = ["GeventActor", "GeventFuture"]

T = TypeVar("T")


class GeventFuture(Future[T]):
    """A pykka future resolved through a :class:`gevent.event.AsyncResult`.

    Waiting yields to the hub instead of blocking the OS thread, so any number
    of greenlets can wait on actors while the event loop keeps serving I/O.
    """

    def __init__(self) -> None:
        super().__init__()
        self._result = gevent.event.AsyncResult()

    def get(self, *, timeout: float | None = None) -> Any:
        try:
            return super().get(timeout=timeout)
        except NotImplementedError:
            pass
        try:
            return self._result.get(timeout=timeout)
        except gevent.Timeout as exc:
            raise Timeout(f"{timeout} seconds") from exc

    def set(self, value: Any | None = None) -> None:
        if self._result.ready():
            raise queue.Full
        self._result.set(value)

    def set_exception(self, exc_info: Any = None) -> None:
        if exc_info is None:
            exc_info = sys.exc_info()
        if self._result.ready():
            raise queue.Full
        exc = exc_info[1] if exc_info[1] is not None else exc_info[0]()
        self._result.set_exception(exc, exc_info=exc_info)


class _Inbox(gevent.queue.Queue):
    """A gevent queue with the ``empty()``/``get()``/``put()`` shape pykka expects."""


class GeventActor(pykka.Actor):
    """A pykka actor whose loop runs in a greenlet of the current hub.

    Handlers must not block the OS thread (use gevent I/O).  A handler that
    waits on a future yields, so other actors and request greenlets go on.
    Actors must tell upward and never ask an actor that may ask them back.
    """

    greenlet: gevent.Greenlet | None = None

    @staticmethod
    def _create_actor_inbox() -> Any:
        return _Inbox()

    @staticmethod
    def _create_future() -> Future[Any]:
        return GeventFuture()

    def _start_actor_loop(self) -> None:
        self.greenlet = gevent.spawn(self._actor_loop)
        self.greenlet.name = f"{self.__class__.__name__}"
