"""A pika connection on the gevent hub, used from greenlets as if it were blocking.

pika's :class:`~pika.adapters.gevent_connection.GeventConnection` drives a non-blocking
socket with the hub's own io watchers and timers, so no monkey-patching is needed and the
hub never blocks on the broker.  pika itself is callback-based; :class:`Link` and
:class:`Chan` turn each broker round trip into a wait on a :class:`gevent.event.AsyncResult`
in the *calling* greenlet.  pika's callbacks (deliveries, confirms, closes) run on the hub
and only set results or hand items on; they never wait.

A closed channel or connection fails every wait pending on it with :class:`ChannelGone`,
so no caller hangs on a broker that went away.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event
import pika
import pika.exceptions
from pika.adapters.gevent_connection import GeventConnection, _GeventSelectorIOLoop
from pika.adapters.utils.selector_ioloop_adapter import SelectorIOServicesAdapter

__all__ = ["BrokerError", "Chan", "ChannelGone", "Link", "hub_services"]

log = logging.getLogger("greenrunner.jobs.amqp")


class BrokerError(Exception):
    """The broker refused or failed an operation (a closed channel, a nack, a timeout)."""


class ChannelGone(BrokerError):
    """The channel (or its connection) closed before the broker answered."""


# pika's default builds a new ioloop (with its own self-pipe and an io watcher that keeps
# the hub alive) for every connection; one per hub is enough and leaks nothing on redial.
_services: dict[int, tuple[Any, SelectorIOServicesAdapter]] = {}


def hub_services() -> SelectorIOServicesAdapter:
    """The pika I/O services of the current hub, for ``GeventConnection(custom_ioloop=...)``."""
    hub = gevent.get_hub()
    cached = _services.get(id(hub))
    if cached is not None and cached[0] is hub:
        return cached[1]
    loop = _GeventSelectorIOLoop(hub)
    # The self-pipe watcher is for callbacks from other threads; it must not keep the hub
    # alive on its own (gevent.wait() would never return).
    for watcher in loop._io_watchers_by_fd.values():
        watcher.ref = False
    services = SelectorIOServicesAdapter(loop)
    _services[id(hub)] = (hub, services)
    return services


class Link:
    """One AMQP connection.  ``lost`` is set once it is closed, for whatever reason."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self.lost = gevent.event.Event()
        self.close_reason: BaseException | None = None
        self._opened: gevent.event.AsyncResult = gevent.event.AsyncResult()
        params = pika.URLParameters(url)
        params.socket_timeout = timeout
        params.stack_timeout = timeout
        params.blocked_connection_timeout = None
        self._conn = GeventConnection(
            parameters=params,
            on_open_callback=self._on_open,
            on_open_error_callback=self._on_open_error,
            on_close_callback=self._on_close,
            custom_ioloop=hub_services(),
        )

    @classmethod
    def open(cls, url: str, timeout: float = 10.0) -> Link:
        """Dial and wait (in this greenlet) until the AMQP handshake is done."""
        link = cls(url, timeout)
        try:
            link._opened.get(timeout=timeout + 1)
        except gevent.Timeout as exc:
            link.close()
            raise BrokerError(f"no AMQP handshake from {_safe(url)} within {timeout:g}s") from exc
        except BrokerError:
            raise
        except Exception as exc:
            raise BrokerError(f"cannot connect to {_safe(url)}: {_describe(exc)}") from exc
        return link

    def _on_open(self, _conn: Any) -> None:
        self._opened.set(True)

    def _on_open_error(self, _conn: Any, exc: BaseException) -> None:
        self.close_reason = exc
        self.lost.set()
        self._opened.set_exception(BrokerError(f"cannot connect to {_safe(self.url)}: {exc!r}"))

    def _on_close(self, _conn: Any, exc: BaseException) -> None:
        self.close_reason = exc
        self.lost.set()

    @property
    def alive(self) -> bool:
        return not self.lost.is_set() and bool(self._conn.is_open)

    def channel(self, timeout: float = 10.0) -> Chan:
        """Open a channel and wait for it."""
        if not self.alive:
            raise ChannelGone(f"the connection to {_safe(self.url)} is closed")
        result: gevent.event.AsyncResult = gevent.event.AsyncResult()
        try:
            self._conn.channel(on_open_callback=result.set)
        except pika.exceptions.AMQPError as exc:
            raise ChannelGone(f"cannot open a channel: {_describe(exc)}") from exc
        waiter = _race(result, self.lost, timeout, "open a channel")
        return Chan(waiter, self)

    def close(self, timeout: float = 5.0) -> None:
        """Close gracefully (the broker requeues this connection's unacked messages)."""
        if self._conn.is_open:
            with contextlib.suppress(pika.exceptions.AMQPError):
                self._conn.close()
        elif self._conn.is_closing:
            pass
        else:
            return
        self.lost.wait(timeout)


class Chan:
    """One channel: round trips as greenlet waits, publisher confirms, settle calls."""

    def __init__(self, channel: Any, link: Link) -> None:
        self.link = link
        self._ch = channel
        self.closed = gevent.event.Event()
        self.close_reason: BaseException | None = None
        self._pending: set[gevent.event.AsyncResult] = set()
        self._confirms: dict[int, gevent.event.AsyncResult] = {}
        self._published = 0
        channel.add_on_close_callback(self._on_close)

    # -- state --------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return not self.closed.is_set() and bool(self._ch.is_open)

    def _on_close(self, _ch: Any, exc: BaseException) -> None:
        self.close_reason = exc
        self.closed.set()
        gone = ChannelGone(f"the channel closed: {_describe(exc)}")
        for result in list(self._pending) + list(self._confirms.values()):
            if not result.ready():
                result.set_exception(gone)
        self._pending.clear()
        self._confirms.clear()

    # -- round trips --------------------------------------------------------------------
    def call(self, method: str, *args: Any, timeout: float = 10.0, **kwargs: Any) -> Any:
        """Run one pika RPC (``queue_declare``...) and wait for its ``-Ok`` frame."""
        if not self.alive:
            raise ChannelGone(f"cannot {method}: the channel is closed")
        result: gevent.event.AsyncResult = gevent.event.AsyncResult()
        self._pending.add(result)
        try:
            getattr(self._ch, method)(*args, callback=result.set, **kwargs)
            return result.get(timeout=timeout)
        except gevent.Timeout as exc:
            raise BrokerError(f"no answer to {method} within {timeout:g}s") from exc
        except pika.exceptions.AMQPError as exc:
            raise ChannelGone(f"cannot {method}: {_describe(exc)}") from exc
        finally:
            self._pending.discard(result)

    def enable_confirms(self, timeout: float = 10.0) -> None:
        """Turn on publisher confirms: :meth:`publish` then waits for the broker's ack."""
        self.call("confirm_delivery", self._on_confirm, timeout=timeout)

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        tag = method.delivery_tag
        ok = isinstance(method, pika.spec.Basic.Ack)
        tags = [t for t in self._confirms if t <= tag] if method.multiple else [tag]
        for t in tags:
            result = self._confirms.pop(t, None)
            if result is None:
                continue
            if ok:
                result.set(True)
            else:
                result.set_exception(BrokerError("the broker refused the message (basic.nack)"))

    def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        properties: pika.BasicProperties,
        timeout: float = 30.0,
    ) -> None:
        """Publish and wait until the broker confirms it has the message."""
        if not self.alive:
            raise ChannelGone("cannot publish: the channel is closed")
        self._published += 1
        result: gevent.event.AsyncResult = gevent.event.AsyncResult()
        self._confirms[self._published] = result
        try:
            self._ch.basic_publish(exchange, routing_key, body, properties)
        except pika.exceptions.AMQPError as exc:
            self._confirms.pop(self._published, None)
            raise ChannelGone(f"cannot publish: {_describe(exc)}") from exc
        try:
            result.get(timeout=timeout)
        except gevent.Timeout as exc:
            raise BrokerError(
                f"the broker did not confirm the message within {timeout:g}s"
            ) from exc

    # -- consuming and settling ---------------------------------------------------------
    def consume(
        self, queue: str, tag: str, on_message: Callable[[Any, Any, Any, bytes], None]
    ) -> None:
        """``basic.consume`` (manual acks) and wait for ``consume-ok``."""
        self.call("basic_consume", queue, on_message, auto_ack=False, consumer_tag=tag)

    def settle(self, what: str, delivery_tag: int, multiple: bool, requeue: bool = False) -> bool:
        """Ack or nack one delivery; ``False`` (and nothing sent) when the channel died,
        since the broker then redelivers the message by itself."""
        if not self.alive:
            return False
        try:
            if what == "ack":
                self._ch.basic_ack(delivery_tag, multiple)
            else:
                self._ch.basic_nack(delivery_tag, multiple, requeue)
        except pika.exceptions.AMQPError:
            return False
        return True

    def close(self) -> None:
        if self._ch.is_open:
            with contextlib.suppress(pika.exceptions.AMQPError):
                self._ch.close()


def _race(
    result: gevent.event.AsyncResult, lost: gevent.event.Event, timeout: float, what: str
) -> Any:
    """Wait for ``result`` unless the connection is lost first."""
    ready = gevent.wait([result, lost], timeout=timeout, count=1)
    if result.ready():
        return result.get()
    if ready:
        raise ChannelGone(f"cannot {what}: the connection closed")
    raise BrokerError(f"cannot {what}: no answer within {timeout:g}s")


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text


def _safe(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        head, tail = url.split("://", 1)
        if "@" in tail:
            creds, host = tail.rsplit("@", 1)
            user = creds.split(":", 1)[0]
            return f"{head}://{user}:***@{host}"
    except ValueError:
        pass
    return url
