"""AMQP jobs: push-and-consume throughput through the ``amqp`` driver against bare pika.

The driver alone (no plugin, no RPC, no worker processes): where the client side of the
broker traffic goes.  ``bench/jobs.py`` is the end-to-end bench (the plugin with workers
against bare pika with the same workers, and against the memory driver).

Both sides run on one gevent hub against the same private RabbitMQ (started here with
``tests/support/rabbitmq.py``), each on its own queue, and do the same work per job:

* push: publish with RoadRunner's ``rr_*`` headers and publisher confirms, ``--window``
  jobs in flight at a time;
* consume: ``--prefetch`` unacked deliveries, each job's headers unpacked and its JSON
  context built, then acked.

Ours is the driver as the plugin uses it: ``--window`` greenlets calling ``push`` (each
returns when its confirm arrives), deliveries handed to a queue as ``AmqpItem`` objects and
acked by a poller greenlet.  The baseline is the least a pika program can do: callbacks only
on pika's ``GeventConnection``, publishing the next job from the confirm callback and acking
inside the delivery callback; no greenlets, no waits, no redial.

    python bench/jobs_amqp.py [--jobs 20000] [--window 64] [--prefetch 256] [--rounds 1]

Prints, for both, jobs per second (pushed and consumed, start to last ack) and this
process's CPU time per job (the client side only; the broker does the same work for both,
and on a loaded machine CPU per job is the steadier figure), with the ratios ours /
baseline from one run; ``--rounds N`` alternates N runs of each and prints the medians
(the ratios' medians are of the per-round ratios).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# ``python bench/jobs_amqp.py`` puts bench/ first on sys.path, where bench/h2.py and
# bench/http.py would shadow the ``h2`` and stdlib ``http`` packages the server imports.
if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == ROOT / "bench":
    del sys.path[0]
sys.path.insert(0, str(ROOT))

import gevent  # noqa: E402
import gevent.event  # noqa: E402
import pika  # noqa: E402
from pika.adapters.gevent_connection import GeventConnection  # noqa: E402

from actors.config.schema.amqp import AmqpPipelineSchema  # noqa: E402
from actors.plugins.jobs.driver import Job  # noqa: E402
from actors.plugins.jobs.drivers.amqp import make_amqp_driver  # noqa: E402
from actors.plugins.jobs.drivers.amqp.connection import hub_services  # noqa: E402
from actors.plugins.jobs.drivers.amqp.headers import properties, unpack  # noqa: E402
from actors.plugins.jobs.drivers.amqp.item import AmqpItem  # noqa: E402
from tests.support.rabbitmq import RabbitMQ  # noqa: E402

log = logging.getLogger("bench.jobs_amqp")
PAYLOAD = b'{"task":"send-mail","to":"someone@example.com"}'
HEADERS = {"attempt": ["1"], "source": ["bench"]}


def ours(url: str, jobs: int, window: int, prefetch: int) -> tuple[float, float]:
    """Jobs per second through the driver: push from ``window`` greenlets, consume, ack."""
    name = f"ours-{uuid.uuid4().hex[:6]}"
    cfg = AmqpPipelineSchema(name).load(
        {"addr": url, "queue": name, "routing_key": name, "prefetch": prefetch}
    )
    inbox: list[AmqpItem] = []
    arrived = gevent.event.Event()

    class Queue:
        def insert(self, item: Any) -> None:
            inbox.append(item)
            arrived.set()

    driver = make_amqp_driver(cfg, Queue(), log)
    done = gevent.event.Event()

    def poller() -> None:
        acked = 0
        while acked < jobs:
            arrived.wait()
            arrived.clear()
            batch = inbox[:]
            del inbox[:]
            for item in batch:
                item.context()
                item.ack()
            acked += len(batch)
        done.set()

    counter = iter(range(jobs))

    def pusher() -> None:
        for n in counter:
            driver.push(Job(name="Mail", id=f"j{n}", payload=PAYLOAD, headers=HEADERS))

    started, cpu = time.perf_counter(), time.process_time()
    driver.run()
    eater = gevent.spawn(poller)
    gevent.joinall([gevent.spawn(pusher) for _ in range(window)], raise_error=True)
    done.wait()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    eater.kill()
    driver.stop(5)
    return jobs / elapsed, cpu / jobs * 1e6


def bare(url: str, jobs: int, window: int, prefetch: int) -> tuple[float, float]:
    """Jobs per second with pika callbacks only (the floor for a pika program)."""
    name = f"bare-{uuid.uuid4().hex[:6]}"
    exchange = "amqp.default"
    done = gevent.event.AsyncResult()
    state = {"sent": 0, "confirmed": 0, "consumed": 0}
    pending: set[int] = set()
    ready = gevent.event.Event()
    channels: dict[str, Any] = {}

    def publish_more() -> None:
        pub = channels["pub"]
        while state["sent"] < jobs and len(pending) < window:
            n = state["sent"]
            state["sent"] += 1
            pending.add(n + 1)
            props = properties(
                id=f"j{n}",
                job="Mail",
                pipeline=name,
                headers=HEADERS,
                delay=0,
                priority=10,
                auto_ack=False,
            )
            pub.basic_publish(exchange, name, PAYLOAD, props)

    def on_confirm(frame: Any) -> None:
        tag = frame.method.delivery_tag
        for t in [t for t in pending if t <= tag] if frame.method.multiple else [tag]:
            pending.discard(t)
        publish_more()

    def on_message(ch: Any, method: Any, props: Any, body: bytes) -> None:
        fields = unpack(props.headers, log)
        AmqpItem(
            id=fields.id,
            name=fields.job,
            payload=body,
            headers=fields.headers,
            pipeline=name,
            queue=name,
            priority=fields.priority or 10,
            auto_ack=False,
            delay=0,
            chan=None,  # type: ignore[arg-type]
            delivery_tag=method.delivery_tag,
            redelivered=False,
            settler=None,  # type: ignore[arg-type]
        ).context()
        ch.basic_ack(method.delivery_tag)
        state["consumed"] += 1
        if state["consumed"] == jobs:
            done.set(True)

    def on_open(conn: Any) -> None:
        def pub_open(ch: Any) -> None:
            channels["pub"] = ch
            ch.exchange_declare(
                exchange,
                "direct",
                callback=lambda _f: ch.queue_declare(
                    name,
                    callback=lambda _f: ch.queue_bind(
                        name,
                        exchange,
                        name,
                        callback=lambda _f: ch.confirm_delivery(
                            on_confirm, callback=lambda _f: ready.set()
                        ),
                    ),
                ),
            )

        conn.channel(on_open_callback=pub_open)

    conn = GeventConnection(
        pika.URLParameters(url), on_open_callback=on_open, custom_ioloop=hub_services()
    )
    ready.wait(10)
    consumer_ready = gevent.event.Event()

    def cons_open(ch: Any) -> None:
        channels["cons"] = ch
        ch.basic_qos(
            prefetch_count=prefetch,
            callback=lambda _f: ch.basic_consume(
                name, on_message, callback=lambda _f: consumer_ready.set()
            ),
        )

    started, cpu = time.perf_counter(), time.process_time()
    conn.channel(on_open_callback=cons_open)
    consumer_ready.wait(10)
    publish_more()
    done.get(timeout=300)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    conn.close()
    return jobs / elapsed, cpu / jobs * 1e6


def report(label: str, base: tuple[float, float], mine: tuple[float, float]) -> None:
    print(
        f"{label}bare pika: {base[0]:7.0f} jobs/s {base[1]:6.0f} us CPU/job   "
        f"amqp driver: {mine[0]:7.0f} jobs/s {mine[1]:6.0f} us CPU/job   "
        f"ratio {mine[0] / base[0]:.2f} (throughput), {base[1] / mine[1]:.2f} (CPU)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--prefetch", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rabbit = RabbitMQ()
    rabbit.start()
    try:
        ours_runs: list[tuple[float, float]] = []
        bare_runs: list[tuple[float, float]] = []
        for _ in range(args.rounds):
            bare_runs.append(bare(rabbit.url, args.jobs, args.window, args.prefetch))
            ours_runs.append(ours(rabbit.url, args.jobs, args.window, args.prefetch))
            report("", bare_runs[-1], ours_runs[-1])
        if args.rounds > 1:
            speed = statistics.median(
                o[0] / b[0] for o, b in zip(ours_runs, bare_runs, strict=True)
            )
            cpu = statistics.median(b[1] / o[1] for o, b in zip(ours_runs, bare_runs, strict=True))
            print(
                f"median of {args.rounds} rounds: bare pika "
                f"{statistics.median(r[0] for r in bare_runs):.0f} jobs/s "
                f"{statistics.median(r[1] for r in bare_runs):.0f} us CPU/job, amqp driver "
                f"{statistics.median(r[0] for r in ours_runs):.0f} jobs/s "
                f"{statistics.median(r[1] for r in ours_runs):.0f} us CPU/job; median ratios "
                f"{speed:.2f} (throughput), {cpu:.2f} (CPU)"
            )
    finally:
        rabbit.close()


if __name__ == "__main__":
    main()
