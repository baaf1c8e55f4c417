"""The ``amqp`` jobs driver: one pipeline on RabbitMQ (upstream ``amqpjobs/driver.go``).

Who owns what:

* the *keeper* greenlet owns the connection: it dials, watches for the connection (or one
  of the driver's channels) going away, and redials with backoff, restoring the exchange,
  the publish channel and, if the pipeline was consuming, the consumer;
* ``run``/``pause``/``resume``/``stop`` and the keeper's redial take ``_mu`` (upstream's
  mutex), so a consumer is never started twice or on a dying connection;
* pushes (RPC greenlets) wait until a connection is up and publish on the shared publish
  channel with publisher confirms: ``push`` returns once the broker has the message;
* deliveries arrive in pika callbacks on the hub; each becomes an :class:`AmqpItem` handed to
  the plugin's queue at once (``Queue.insert`` never blocks).

When the broker goes away, the unacked deliveries stay with the broker, which delivers them
again; an item whose channel died settles as a logged no-op.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any

import gevent
import gevent.event
import gevent.lock
import pika

from actors.config.model import AmqpPipelineConfig
from actors.plugins.jobs.driver import Headers, Job, PipelineState, Queue
from actors.plugins.jobs.drivers.amqp.connection import BrokerError, Chan, Link, _safe
from actors.plugins.jobs.drivers.amqp.headers import properties, unpack
from actors.plugins.jobs.drivers.amqp.item import AmqpItem, StoppedError

__all__ = ["AmqpDriver", "delay_queue_name"]

#: Seconds to wait for the broker's handshake and for each round trip.
DIAL_TIMEOUT = 10.0
#: Redial backoff: first pause, growth and cap (seconds); each pause is jittered by ±50%.
BACKOFF_FIRST = 0.25
BACKOFF_FACTOR = 1.5
BACKOFF_MAX = 5.0


def delay_queue_name(delay_ms: int, exchange: str, queue: str) -> str:
    """Upstream's delay queue for one delay: ``delayed-<ms>.<exchange>.<queue>``."""
    return f"delayed-{delay_ms}.{exchange}.{queue}"


class AmqpDriver:
    """One ``amqp`` pipeline.  The constructor dials (raising if the broker cannot be
    reached, as upstream's ``FromConfig`` does) and declares the exchange."""

    def __init__(
        self,
        cfg: AmqpPipelineConfig,
        queue: Queue,
        logger: logging.Logger | None = None,
    ) -> None:
        self._cfg = cfg
        self._queue = queue
        self._log = logger or logging.getLogger("greenrunner.jobs.amqp")
        self._mu = gevent.lock.RLock()
        self._stopped = False
        #: The wanted state: consume when connected (run/resume set it, pause clears it).
        self._consuming = False
        self._link: Link | None = None
        self._pub: Chan | None = None
        self._cons: Chan | None = None
        self._up = gevent.event.Event()
        self._delayed = 0
        self._reserved = 0
        with self._mu:
            try:
                self._dial()
            except BrokerError as exc:
                raise BrokerError(
                    f"amqp pipeline {cfg.name}: {exc}; check that RabbitMQ runs at "
                    f"{_safe(cfg.addr)} (jobs.pipelines.{cfg.name}.addr or amqp.addr) and "
                    "that the exchange and queue settings match what the broker has"
                ) from exc
        self._keeper = gevent.spawn(self._keep)

    # -- facts --------------------------------------------------------------------------
    @property
    def config(self) -> AmqpPipelineConfig:
        return self._cfg

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def connected(self) -> bool:
        """True while a connection with its publish channel is up."""
        return self._up.is_set()

    # -- connection ---------------------------------------------------------------------
    def _dial(self) -> None:
        """Connect, declare the exchange, open the confirmed publish channel and, when
        consuming, the consumer.  Called with ``_mu`` held."""
        cfg = self._cfg
        link = Link.open(cfg.addr, DIAL_TIMEOUT)
        try:
            setup = link.channel()
            setup.call(
                "exchange_declare",
                exchange=cfg.exchange,
                exchange_type=cfg.exchange_type,
                durable=cfg.exchange_durable,
                auto_delete=cfg.exchange_auto_delete,
            )
            if cfg.queue:
                # Upstream declares the queue only when consuming starts, so jobs pushed
                # before that are unroutable and dropped; declaring it here keeps them.
                self._declare_queue(setup)
            setup.close()
            pub = link.channel()
            pub.enable_confirms()
            cons = self._start_consumer(link) if self._consuming else None
        except BrokerError:
            link.close(1.0)
            raise
        self._link, self._pub, self._cons = link, pub, cons
        for chan in (pub, cons):
            if chan is not None:
                self._watch(chan)
        self._up.set()

    def _watch(self, chan: Chan) -> None:
        """A driver channel closing on its own (a broker error) takes the connection down
        with it, so the keeper redials everything, as upstream does."""

        def closed(_event: Any) -> None:
            link = chan.link
            if not self._stopped and link is self._link and link.alive:
                self._log.warning(
                    "amqp pipeline %s: a channel closed (%s); reconnecting",
                    self._cfg.name,
                    chan.close_reason,
                )
                gevent.spawn(link.close, 2.0)

        chan.closed.rawlink(closed)

    def _keep(self) -> None:
        """The keeper: wait for the connection to go away, then redial until it is back."""
        while not self._stopped:
            link = self._link
            if link is None:
                return
            link.lost.wait()
            if self._stopped:
                return
            self._up.clear()
            self._log.error(
                "amqp pipeline %s: the connection to %s was lost (%s); redialing",
                self._cfg.name,
                _safe(self._cfg.addr),
                link.close_reason,
            )
            self._redial()

    def _redial(self) -> None:
        started = warned = time.monotonic()
        pause = BACKOFF_FIRST
        while not self._stopped:
            with self._mu:
                if self._stopped:
                    return
                try:
                    self._dial()
                except BrokerError as exc:
                    error: BrokerError | None = exc
                else:
                    error = None
            if error is None:
                self._log.info(
                    "amqp pipeline %s: connection restored after %.1fs",
                    self._cfg.name,
                    time.monotonic() - started,
                )
                return
            now = time.monotonic()
            if now - warned >= self._cfg.redial_timeout:
                warned = now
                self._log.error(
                    "amqp pipeline %s: still no connection after %.0fs (redial_timeout %ss), "
                    "retrying: %s",
                    self._cfg.name,
                    now - started,
                    self._cfg.redial_timeout,
                    error,
                )
            gevent.sleep(pause * random.uniform(0.5, 1.5))
            pause = min(pause * BACKOFF_FACTOR, BACKOFF_MAX)

    # -- consuming ----------------------------------------------------------------------
    def _start_consumer(self, link: Link) -> Chan:
        chan = link.channel()
        chan.call("basic_qos", prefetch_count=self._cfg.prefetch)
        self._consume(chan)
        return chan

    def _consume(self, chan: Chan) -> None:
        """Declare and bind the queue (idempotent), then ``basic.consume`` on ``chan``."""
        self._declare_queue(chan)
        chan.consume(self._cfg.queue, self._cfg.consumer_id, self._receiver(chan))

    def _declare_queue(self, chan: Chan) -> None:
        cfg = self._cfg
        chan.call(
            "queue_declare",
            queue=cfg.queue,
            durable=cfg.durable,
            exclusive=cfg.exclusive,
            auto_delete=cfg.queue_auto_delete,
            arguments=dict(cfg.queue_headers) or None,
        )
        chan.call("queue_bind", queue=cfg.queue, exchange=cfg.exchange, routing_key=cfg.routing_key)

    def _receiver(self, chan: Chan) -> Any:
        cfg = self._cfg

        def on_message(_ch: Any, method: Any, props: Any, body: bytes) -> None:
            # Runs on the hub (a pika callback): build the item and hand it on, no waits.
            fields = unpack(props.headers, self._log)
            item = AmqpItem(
                id=fields.id,
                name=fields.job,
                payload=body,
                headers=fields.headers,
                pipeline=fields.pipeline or cfg.name,
                queue=cfg.queue,
                priority=cfg.priority if fields.priority is None else fields.priority,
                auto_ack=fields.auto_ack,
                delay=fields.delay,
                chan=chan,
                delivery_tag=method.delivery_tag,
                redelivered=bool(method.redelivered),
                settler=self,
                multiple_ack=cfg.multiple_ack,
                requeue_on_fail=cfg.requeue_on_fail,
            )
            if item.auto_ack:
                chan.settle("ack", item.delivery_tag, False)
            else:
                self._reserved += 1
            try:
                self._queue.insert(item)
            except Exception:
                self._log.exception(
                    "amqp pipeline %s: the jobs queue refused job %s; it goes back to the broker",
                    cfg.name,
                    item.id,
                )
                if not item.auto_ack:
                    self._reserved -= 1
                    chan.settle("nack", item.delivery_tag, False, requeue=True)

        return on_message

    def run(self) -> None:
        """Start consuming (upstream ``Run``)."""
        self._start_consuming(quiet=True)

    def _start_consuming(self, quiet: bool) -> None:
        """``run`` and ``resume``: consume from now on (a no-op when already consuming, logged
        unless ``quiet``); the consumer starts now if the broker is up, else on redial."""
        if not self._cfg.queue:
            raise ValueError(
                "empty queue name, consider adding the queue name to the AMQP configuration"
            )
        with self._mu:
            if self._stopped:
                raise StoppedError(f"amqp pipeline {self._cfg.name} is stopped")
            if self._consuming:
                if not quiet:
                    self._log.debug("amqp pipeline %s: already consuming", self._cfg.name)
                return
            self._consuming = True
            self._start_if_up()

    def _start_if_up(self) -> None:
        link = self._link
        if not self._up.is_set() or link is None or not link.alive:
            return  # the keeper starts the consumer when it has redialed
        if self._cons is not None and self._cons.alive:
            self._consume(self._cons)
        else:
            self._cons = self._start_consumer(link)
            self._watch(self._cons)

    def pause(self) -> None:
        """Cancel the consumer; the channel stays open, so jobs already received can still
        be acked.  Pausing a paused pipeline does nothing."""
        with self._mu:
            if not self._consuming:
                self._log.debug("amqp pipeline %s: already paused", self._cfg.name)
                return
            self._consuming = False
            cons = self._cons
            if cons is not None and cons.alive:
                cons.call("basic_cancel", consumer_tag=self._cfg.consumer_id)

    def resume(self) -> None:
        """Consume again after :meth:`pause` (the queue is declared again, as upstream)."""
        self._start_consuming(quiet=False)

    def stop(self, timeout: float) -> None:
        """Cancel the consumer, delete the queue when ``delete_queue_on_stop``, close the
        connection.  The broker takes back every unacked job."""
        self._stopped = True
        deadline = time.monotonic() + max(timeout, 0.1)
        got = self._mu.acquire(timeout=max(timeout, 0.1))
        try:
            self._consuming = False
            self._up.clear()
            link, pub, cons = self._link, self._pub, self._cons
            if link is not None and link.alive:
                left = max(deadline - time.monotonic(), 0.1)
                try:
                    if cons is not None and cons.alive:
                        cons.call("basic_cancel", consumer_tag=self._cfg.consumer_id, timeout=left)
                    if self._cfg.delete_queue_on_stop and pub is not None and self._cfg.queue:
                        frame = pub.call("queue_delete", queue=self._cfg.queue, timeout=left)
                        self._log.debug(
                            "amqp pipeline %s: queue deleted with %s messages",
                            self._cfg.name,
                            frame.method.message_count,
                        )
                except BrokerError as exc:
                    self._log.warning("amqp pipeline %s: stop: %s", self._cfg.name, exc)
            if link is not None:
                link.close(max(deadline - time.monotonic(), 0.1))
        finally:
            if got:
                self._mu.release()
        self._keeper.kill(block=False)

    # -- pushing ------------------------------------------------------------------------
    def push(self, job: Job) -> None:
        """Publish ``job`` and return once the broker confirmed it (upstream ``Push``)."""
        cfg = self._cfg
        if not cfg.routing_key and cfg.exchange_type != "fanout":
            raise ValueError(
                "empty routing key, consider adding the routing key name to the AMQP configuration"
            )
        if job.options.pipeline and job.options.pipeline != cfg.name:
            raise ValueError(f"no such pipeline: {job.options.pipeline}, actual: {cfg.name}")
        self._publish(
            id=job.id,
            job=job.name,
            payload=job.payload,
            headers=job.headers,
            delay=job.options.delay,
            priority=job.options.priority or cfg.priority,
            auto_ack=job.options.auto_ack,
        )

    def republish(self, item: AmqpItem, headers: Headers, delay: int) -> None:
        """A copy of a received job, for ``requeue`` (and ``nack`` with a delay)."""
        self._publish(
            id=item.id,
            job=item.name,
            payload=item.payload,
            headers=headers,
            delay=delay,
            priority=item.priority,
            auto_ack=item.auto_ack,
        )

    def _publish(
        self,
        *,
        id: str,
        job: str,
        payload: bytes,
        headers: Headers,
        delay: int,
        priority: int,
        auto_ack: bool,
    ) -> None:
        cfg = self._cfg
        if self._stopped:
            raise StoppedError(f"amqp pipeline {cfg.name} is stopped; job {id} was not pushed")
        if not self._up.wait(timeout=cfg.redial_timeout):
            raise BrokerError(
                f"amqp pipeline {cfg.name}: no connection to {_safe(cfg.addr)} for "
                f"{cfg.redial_timeout}s (redialing); job {id} was not pushed"
            )
        pub = self._pub
        assert pub is not None
        props = properties(
            id=id,
            job=job,
            pipeline=cfg.name,
            headers=headers,
            delay=delay,
            priority=priority,
            auto_ack=auto_ack,
        )
        try:
            if delay > 0:
                self._publish_delayed(pub, delay, payload, props)
            else:
                pub.publish(cfg.exchange, cfg.routing_key, payload, props)
        except BrokerError as exc:
            raise BrokerError(
                f"amqp pipeline {cfg.name}: job {id} was not confirmed by the broker: {exc}"
            ) from exc

    def _publish_delayed(
        self, pub: Chan, delay: int, payload: bytes, props: pika.BasicProperties
    ) -> None:
        """Upstream's delayed layout: a per-delay queue whose messages expire after the
        delay and are dead-lettered back to the pipeline's exchange and routing key."""
        cfg = self._cfg
        ms = delay * 1000
        name = delay_queue_name(ms, cfg.exchange, cfg.queue)
        self._delayed += 1
        try:
            pub.call(
                "queue_declare",
                queue=name,
                durable=True,
                arguments={
                    "x-dead-letter-exchange": cfg.exchange,
                    "x-dead-letter-routing-key": cfg.routing_key,
                    "x-message-ttl": ms,
                    "x-expires": ms * 2,
                },
            )
            pub.call("queue_bind", queue=name, exchange=cfg.exchange, routing_key=name)
            pub.publish(cfg.exchange, name, payload, props)
        except BrokerError:
            self._delayed -= 1
            raise

    # -- bookkeeping --------------------------------------------------------------------
    def settled(self, item: AmqpItem, how: str, on_broker: bool) -> None:
        """Counters after an item is settled; a settle on a dead channel is logged."""
        if not item.auto_ack:
            self._reserved -= 1
        if item.delay > 0:
            self._delayed -= 1
        if not on_broker and not item.auto_ack:
            self._log.warning(
                "amqp pipeline %s: job %s was not %s: its channel closed, the broker "
                "delivers it again",
                self._cfg.name,
                item.id,
                how,
            )

    def state(self) -> PipelineState:
        """Upstream ``State``: ``active`` is the queue's ready count (a passive declare)."""
        cfg = self._cfg
        state = PipelineState(
            pipeline=cfg.name,
            driver="amqp",
            queue=cfg.queue,
            priority=cfg.priority,
            delayed=max(self._delayed, 0),
            reserved=max(self._reserved, 0),
            ready=self._consuming and self._up.is_set(),
        )
        link = self._link
        if not cfg.queue:
            state.error_message = "empty queue name, add queue to the AMQP configuration"
        elif not self._up.is_set() or link is None:
            state.error_message = f"no connection to {_safe(cfg.addr)} (redialing)"
        else:
            try:
                chan = link.channel()
                try:
                    frame = chan.call("queue_declare", queue=cfg.queue, passive=True)
                    state.active = int(frame.method.message_count)
                finally:
                    chan.close()
            except BrokerError as exc:
                state.error_message = str(exc)
        return state
