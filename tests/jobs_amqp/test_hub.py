"""The AMQP client shares the hub with everything else: broker I/O must never stall it."""

from __future__ import annotations

import time

import gevent
import gevent.monkey

from tests.jobs_amqp.harness import Collector, driver_for, job, pipeline_config, push_all
from tests.support.rabbitmq import RabbitMQ


def test_hub_keeps_ticking_during_broker_io(live_rabbit: RabbitMQ) -> None:
    gaps: list[float] = []
    running = True

    def ticker() -> None:
        last = time.monotonic()
        while running:
            gevent.sleep(0.005)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    tick = gevent.spawn(ticker)
    queue = Collector()
    try:
        with driver_for(pipeline_config(live_rabbit, prefetch=500), queue) as driver:
            driver.run()
            push_all(driver, [job(n) for n in range(3000)])
            acked = 0
            while acked < 3000:
                queue.wait(acked + 1, timeout=30)
                for item in queue.items[acked:]:
                    item.ack()
                    acked += 1
    finally:
        running = False
        tick.join(1)
    assert not gevent.monkey.is_anything_patched(), "the driver must work without patching"
    assert len(gaps) > 50, "the timer hardly ran: the hub was blocked"
    # A client that blocked the hub would hold it for the whole push of 3,000 confirmed jobs
    # (seconds); on a loaded 2-core machine the OS alone can delay a 5 ms timer by a few
    # hundred ms, hence the margin.
    worst = sorted(gaps)[-5:]
    assert max(gaps) < 1.0, f"the hub stalled: worst gaps {worst}"
