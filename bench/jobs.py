"""Jobs push-and-consume throughput through Greenrunner's jobs plugin, per driver.

The server (an ActorSystem with a ``jobs`` section and RPC) runs in this process's hub.  A
producer in another process (this file with ``--producer``) pushes ``--jobs`` jobs over RPC
with the Python SDK (``jobs.PushBatch`` of ``--batch`` jobs, or ``jobs.Push`` one by one
with ``--batch 1``), and workers (this file with ``--worker``, the SDK's ``Consumer``) ack
each job.  Measured: jobs pushed per second (as the producer sees it), and jobs consumed
per second from the first push until the last ack (end to end).

    python bench/jobs.py [--driver memory] [--jobs 20000] [--batch 100] [--workers 2]
                         [--pollers 0] [--payload 64] [--rounds 1]

A driver is one entry of :data:`DRIVERS`: the pipeline settings it is benchmarked with
(and, for a broker, what it needs to be reachable); add an entry to bench another driver.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# ``python bench/jobs.py`` puts bench/ first on sys.path, where bench/http.py would shadow the
# standard library's http (which prometheus_client imports): the repository root instead.
if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == ROOT / "bench":
    del sys.path[0]
sys.path.insert(0, str(ROOT))

PIPELINE = "bench"


def memory_pipeline(args: argparse.Namespace) -> dict[str, Any]:
    """The memory driver: everything in this process, prefetch high enough not to throttle."""
    return {"driver": "memory", "config": {"priority": 10, "prefetch": 100_000}}


#: Driver name → pipeline settings for the benchmark (the amqp part adds ``"amqp"``).
DRIVERS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "memory": memory_pipeline,
}


def worker_main() -> None:
    """The worker: stdlib only, the SDK's consumer acking every job."""
    from relays.jobs import Consumer

    for task in Consumer():
        task.ack()


def producer_main(address: str, jobs: int, batch: int, payload: int) -> None:
    """Push ``jobs`` jobs; print ``{"pushed_per_s": ...}`` as JSON."""
    from relays.jobs import Jobs
    from relays.rpc import RPC

    body = b"x" * payload
    with RPC.create(address, timeout=60) as rpc:
        queue = Jobs(rpc).connect(PIPELINE)
        started = time.perf_counter()
        if batch <= 1:
            for n in range(jobs):
                queue.push("Bench", body, id=str(n))
        else:
            for start in range(0, jobs, batch):
                made = [
                    queue.job("Bench", body, id=str(n))
                    for n in range(start, min(start + batch, jobs))
                ]
                queue.push_batch(made)
        elapsed = time.perf_counter() - started
    print(json.dumps({"pushed_per_s": jobs / elapsed}))


def run_once(args: argparse.Namespace) -> dict[str, float]:
    """One server, one producer run: pushed/s and consumed/s end to end."""
    import gevent
    import gevent.subprocess

    from actors.system import ActorSystem

    system = ActorSystem.from_dict(
        {
            "server": {"command": [sys.executable, __file__, "--worker"]},
            "logs": {"level": "error"},
            "rpc": {"listen": "tcp://127.0.0.1:0"},
            "jobs": {
                "num_pollers": args.pollers,
                "pool": {"num_workers": args.workers},
                "consume": [PIPELINE],
                "pipelines": {PIPELINE: DRIVERS[args.driver](args)},
            },
        }
    ).start()
    try:
        metrics = system.plugins["jobs"].metrics
        started = time.perf_counter()
        producer = gevent.subprocess.Popen(
            [
                sys.executable, __file__, "--producer", str(system.rpc.address),
                "--jobs", str(args.jobs), "--batch", str(args.batch),
                "--payload", str(args.payload),
            ],
            stdout=subprocess.PIPE,
        )  # fmt: skip
        while metrics.jobs_ok + metrics.jobs_err < args.jobs:
            gevent.sleep(0.01)
            if time.perf_counter() - started > args.timeout:
                raise SystemExit(f"only {metrics.jobs_ok} of {args.jobs} jobs done in time")
        consumed = args.jobs / (time.perf_counter() - started)
        out, _ = producer.communicate(timeout=60)
        if metrics.jobs_err:
            raise SystemExit(f"{metrics.jobs_err} jobs failed")
        return {"pushed_per_s": json.loads(out)["pushed_per_s"], "consumed_per_s": consumed}
    finally:
        system.stop(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--producer", metavar="ADDRESS", help=argparse.SUPPRESS)
    parser.add_argument("--driver", default="memory", choices=sorted(DRIVERS))
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100, help="jobs per PushBatch (1: Push)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pollers", type=int, default=0, help="0: workers + 2")
    parser.add_argument("--payload", type=int, default=64, help="payload bytes")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    if args.worker:
        worker_main()
        return
    if args.producer:
        producer_main(args.producer, args.jobs, args.batch, args.payload)
        return
    results = [run_once(args) for _ in range(args.rounds)]
    for n, r in enumerate(results, 1):
        print(
            f"round {n}: {args.driver}: pushed {r['pushed_per_s']:,.0f} jobs/s, "
            f"consumed {r['consumed_per_s']:,.0f} jobs/s end to end "
            f"({args.jobs} jobs, batch {args.batch}, {args.workers} workers)"
        )
    if len(results) > 1:
        print(
            f"median: pushed {statistics.median(r['pushed_per_s'] for r in results):,.0f} "
            f"jobs/s, consumed {statistics.median(r['consumed_per_s'] for r in results):,.0f}"
            " jobs/s"
        )


if __name__ == "__main__":
    main()
