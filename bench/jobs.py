"""Jobs push-and-consume throughput: Greenrunner (amqp, memory) against bare pika + workers.

Three setups, alternating in every round, each pushing ``--jobs`` jobs of ``--payload``
bytes from a producer process and consuming them with ``--workers`` worker processes
(this file with ``--worker``: the Python SDK's ``Consumer``, acking every job):

* **amqp**: Greenrunner (an ActorSystem with RPC and a ``jobs`` amqp pipeline, in this
  process's hub) against a private RabbitMQ; the producer pushes over RPC with the SDK
  (``jobs.PushBatch`` of ``--batch`` jobs; the plugin publishes each with a publisher
  confirm); the plugin delivers each job to a worker and acks it on the broker.
* **pika**: the baseline without the plugin.  The producer publishes the same jobs (the
  same ``rr_*`` headers) with a blocking pika channel with publisher confirms, one confirm
  per job as the plugin does; in this process one thread per worker, each with its own
  blocking pika connection (prefetch ``--prefetch``), runs the tiny loop: take a delivery,
  send the worker one goridge frame (the job's JSON context + body, ``relays/frame.py``)
  over its pipes, read the answer, ``basic_ack``.
* **memory**: Greenrunner with a memory pipeline (no broker), same producer and workers.

Measured per setup: jobs per second from the first push to the last ack (end to end), the
producer's push rate, this process's CPU time per job (``time.process_time``: the
Greenrunner hub, or the baseline's consumer threads) and the producer's (its whole life).
The workers and the broker are not counted.  The baseline's producer publishes to the
broker itself, where Greenrunner's hub publishes what its producer pushes over RPC, so the
CPU ratio is of server + producer.  Printed per round, then medians and the ratios
amqp/pika and amqp/memory (the medians of the per-round ratios).

    python bench/jobs.py [--jobs 5000] [--batch 100] [--workers 2] [--prefetch 100]
                         [--payload 64] [--rounds 3] [--only amqp,pika,memory]

``bench/jobs_amqp.py`` is the driver alone against bare pika (no plugin, no workers).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
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
JOB_NAME = "Bench"
SETUPS = ("pika", "amqp", "memory")
Result = dict[str, float]


# -- the processes ------------------------------------------------------------------------
def worker_main() -> None:
    """The worker: stdlib only, the SDK's consumer acking every job."""
    from relays.jobs import Consumer

    for task in Consumer():
        task.ack()


def producer_main(address: str, jobs: int, batch: int, payload: int) -> None:
    """Push ``jobs`` jobs over RPC with the SDK; print ``{"pushed_per_s": ...}`` as JSON."""
    from relays.jobs import Jobs
    from relays.rpc import RPC

    body = b"x" * payload
    with RPC.create(address, timeout=120) as rpc:
        queue = Jobs(rpc).connect(PIPELINE)
        started = time.perf_counter()
        if batch <= 1:
            for n in range(jobs):
                queue.push(JOB_NAME, body, id=str(n))
        else:
            for start in range(0, jobs, batch):
                made = [
                    queue.job(JOB_NAME, body, id=str(n))
                    for n in range(start, min(start + batch, jobs))
                ]
                queue.push_batch(made)
        elapsed = time.perf_counter() - started
    print(json.dumps({"pushed_per_s": jobs / elapsed, "cpu_us": time.process_time() / jobs * 1e6}))


def pika_producer_main(url: str, queue: str, jobs: int, payload: int) -> None:
    """Publish the same jobs as the plugin would (headers, persistent, one confirm each)."""
    import pika

    from actors.plugins.jobs.drivers.amqp.headers import properties

    cfg = amqp_config(url, queue)
    body = b"x" * payload
    conn = pika.BlockingConnection(pika.URLParameters(url))
    channel = conn.channel()
    channel.confirm_delivery()
    started = time.perf_counter()
    for n in range(jobs):
        props = properties(
            id=str(n),
            job=JOB_NAME,
            pipeline=PIPELINE,
            headers={},
            delay=0,
            priority=10,
            auto_ack=False,
        )
        channel.basic_publish(cfg.exchange, cfg.routing_key, body, props, mandatory=True)
    elapsed = time.perf_counter() - started
    conn.close()
    print(json.dumps({"pushed_per_s": jobs / elapsed, "cpu_us": time.process_time() / jobs * 1e6}))


# -- shared pieces ------------------------------------------------------------------------
def amqp_config(url: str, queue: str) -> Any:
    """The pipeline's settings as the amqp driver sees them (exchange, queue, key...)."""
    from actors.config.schema.amqp import AmqpPipelineSchema

    return AmqpPipelineSchema(PIPELINE).load({"addr": url, "queue": queue, "routing_key": queue})


def spawn(argv: list[str]) -> subprocess.Popen[bytes]:
    """A child process of this script (``argv`` after the script's path)."""
    return subprocess.Popen([sys.executable, __file__, *argv], stdout=subprocess.PIPE)


def producer_result(producer: subprocess.Popen[bytes]) -> tuple[float, float]:
    """The producer's push rate and its CPU per job (its whole life: imports, connecting),
    once it has exited (a failure stops the bench)."""
    out, _ = producer.communicate(timeout=120)
    if producer.returncode:
        raise SystemExit(f"the producer failed (exit {producer.returncode}); see its stderr")
    result = json.loads(out)
    return float(result["pushed_per_s"]), float(result["cpu_us"])


# -- Greenrunner ----------------------------------------------------------------------------
def greenrunner(
    args: argparse.Namespace, pipeline: dict[str, Any], extra: dict[str, Any]
) -> Result:
    """One ActorSystem, one producer run: jobs/s end to end, pushed/s, hub CPU per job."""
    import gevent

    from actors.system import ActorSystem

    system = ActorSystem.from_dict(
        {
            "server": {"command": [sys.executable, __file__, "--worker"]},
            "logs": {"level": "error"},
            "rpc": {"listen": "tcp://127.0.0.1:0"},
            "jobs": {
                "pool": {"num_workers": args.workers},
                "consume": [PIPELINE],
                "pipelines": {PIPELINE: pipeline},
            },
            **extra,
        }
    ).start()
    try:
        metrics = system.plugins["jobs"].metrics
        started, cpu = time.perf_counter(), time.process_time()
        producer = spawn(
            [
                "--producer", str(system.rpc.address), "--jobs", str(args.jobs),
                "--batch", str(args.batch), "--payload", str(args.payload),
            ]
        )  # fmt: skip
        while metrics.jobs_ok + metrics.jobs_err < args.jobs:
            gevent.sleep(0.005)
            if time.perf_counter() - started > args.timeout:
                raise SystemExit(f"only {metrics.jobs_ok} of {args.jobs} jobs done in time")
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        if metrics.jobs_err:
            raise SystemExit(f"{metrics.jobs_err} jobs failed")
        pushed, producer_cpu = producer_result(producer)
    finally:
        system.stop(timeout=10)
    return {
        "jobs_per_s": args.jobs / elapsed,
        "pushed_per_s": pushed,
        "cpu_us": cpu / args.jobs * 1e6,
        "producer_cpu_us": producer_cpu,
    }


def run_amqp(args: argparse.Namespace, url: str) -> Result:
    queue = f"gr-{uuid.uuid4().hex[:8]}"
    pipeline = {
        "driver": "amqp",
        "config": {"queue": queue, "routing_key": queue, "prefetch": args.prefetch},
    }
    return greenrunner(args, pipeline, {"amqp": {"addr": url}})


def run_memory(args: argparse.Namespace, url: str) -> Result:
    pipeline = {"driver": "memory", "config": {"priority": 10, "prefetch": 100_000}}
    return greenrunner(args, pipeline, {})


# -- the baseline: bare pika + the same workers ----------------------------------------------
class PipeWorker:
    """One worker process on pipes, asked one job at a time (no pool, no supervision)."""

    def __init__(self) -> None:
        from relays.frame import FrameReader

        env = {**os.environ, "RR_RELAY": "pipes", "RR_MODE": "jobs"}
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in = self.proc.stdin
        out_fd = self.proc.stdout.fileno()
        self._reader = FrameReader(lambda n: os.read(out_fd, n))

    def ask(self, context: bytes, body: bytes) -> bytes:
        """Send one job frame, return the body of the answer."""
        from relays.frame import CODEC_RAW, encode_data_frame

        self._in.write(encode_data_frame(context, body, CODEC_RAW))
        self._in.flush()
        return self._reader.read_frame().split()[1]

    def close(self) -> None:
        self._in.close()  # the worker's read sees EOF and it exits
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def pika_consumer(
    url: str, queue: str, prefetch: int, worker: PipeWorker, state: dict[str, Any]
) -> None:
    """The tiny loop: delivery → context + body to the worker → answer → ``basic_ack``."""
    try:
        consume_loop(url, queue, prefetch, worker, state)
    except BaseException as exc:
        state["failure"] = f"a baseline consumer failed: {exc!r}"
        state["done"].set()
        raise


def consume_loop(
    url: str, queue: str, prefetch: int, worker: PipeWorker, state: dict[str, Any]
) -> None:
    """One consumer thread's connection, channel and loop."""
    import pika

    from actors.plugins.jobs.drivers.amqp.headers import unpack

    log = logging.getLogger("bench.jobs")
    conn = pika.BlockingConnection(pika.URLParameters(url))
    channel = conn.channel()
    channel.basic_qos(prefetch_count=prefetch)
    lock: threading.Lock = state["lock"]
    state["ready"].release()
    for method, props, body in channel.consume(queue, inactivity_timeout=0.2):
        if state["done"].is_set():
            break
        if method is None:
            continue
        fields = unpack(props.headers, log)
        context = json.dumps(
            {
                "id": fields.id,
                "job": fields.job,
                "driver": "amqp",
                "queue": queue,
                "headers": dict(sorted(fields.headers.items())),
                "pipeline": fields.pipeline or PIPELINE,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        answer = worker.ask(context, body)
        channel.basic_ack(method.delivery_tag)
        with lock:
            state["acked"] += 1
            if json.loads(answer)["type"] != 2:
                state["errors"] += 1
            if state["acked"] >= state["total"]:
                state["done"].set()
    channel.cancel()
    conn.close()


def run_pika(args: argparse.Namespace, url: str) -> Result:
    """The same jobs through RabbitMQ with bare pika on both ends and the same workers."""
    import pika

    queue = f"bare-{uuid.uuid4().hex[:8]}"
    cfg = amqp_config(url, queue)
    conn = pika.BlockingConnection(pika.URLParameters(url))
    setup = conn.channel()  # declared as the amqp driver declares them
    setup.exchange_declare(
        cfg.exchange,
        cfg.exchange_type,
        durable=cfg.exchange_durable,
        auto_delete=cfg.exchange_auto_delete,
    )
    setup.queue_declare(queue, durable=cfg.durable, auto_delete=cfg.queue_auto_delete)
    setup.queue_bind(queue, cfg.exchange, cfg.routing_key)
    conn.close()
    workers = [PipeWorker() for _ in range(args.workers)]
    state: dict[str, Any] = {
        "lock": threading.Lock(),
        "ready": threading.Semaphore(0),
        "done": threading.Event(),
        "acked": 0,
        "errors": 0,
        "total": args.jobs,
    }
    threads = [
        threading.Thread(
            target=pika_consumer, args=(url, queue, args.prefetch, w, state), daemon=True
        )
        for w in workers
    ]
    try:
        for thread in threads:
            thread.start()
        for _ in threads:
            state["ready"].acquire()
        started, cpu = time.perf_counter(), time.process_time()
        producer = spawn(
            ["--pika-producer", url, "--queue", queue, "--jobs", str(args.jobs),
             "--payload", str(args.payload)]
        )  # fmt: skip
        if not state["done"].wait(args.timeout):
            raise SystemExit(f"only {state['acked']} of {args.jobs} jobs done in time")
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        if state.get("failure"):
            raise SystemExit(state["failure"])
        if state["errors"]:
            raise SystemExit(f"{state['errors']} jobs were not acked by the worker")
        pushed, producer_cpu = producer_result(producer)
    finally:
        state["done"].set()
        for thread in threads:
            thread.join(5)
        for worker in workers:
            worker.close()
    return {
        "jobs_per_s": args.jobs / elapsed,
        "pushed_per_s": pushed,
        "cpu_us": cpu / args.jobs * 1e6,
        "producer_cpu_us": producer_cpu,
    }


RUNNERS: dict[str, Callable[[argparse.Namespace, str], Result]] = {
    "pika": run_pika,
    "amqp": run_amqp,
    "memory": run_memory,
}


# -- the report -------------------------------------------------------------------------------
def line(name: str, r: Result) -> str:
    return (
        f"{name:>6}: {r['jobs_per_s']:7,.0f} jobs/s end to end, "
        f"pushed {r['pushed_per_s']:7,.0f}/s, CPU/job {r['cpu_us']:5,.0f} us server "
        f"+ {r['producer_cpu_us']:4,.0f} us producer"
    )


def total_cpu(r: Result) -> float:
    """Server + producer CPU per job: the baseline publishes in its producer what the
    Greenrunner hub publishes itself, so only the sum compares like with like."""
    return r["cpu_us"] + r["producer_cpu_us"]


def ratios(runs: dict[str, list[Result]], n: int) -> list[str]:
    """``amqp/pika`` and ``amqp/memory`` of round ``n`` (jobs/s, and CPU per job inverted)."""
    out = []
    for other in ("pika", "memory"):
        if runs.get("amqp") and runs.get(other):
            a, b = runs["amqp"][n], runs[other][n]
            out.append(
                f"amqp/{other} {a['jobs_per_s'] / b['jobs_per_s']:.2f} (jobs/s), "
                f"{total_cpu(b) / total_cpu(a):.2f} (server+producer CPU, {other}/amqp)"
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--producer", metavar="ADDRESS", help=argparse.SUPPRESS)
    parser.add_argument("--pika-producer", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--queue", help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, default=5_000)
    parser.add_argument("--batch", type=int, default=100, help="jobs per PushBatch (1: Push)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--prefetch", type=int, default=100, help="amqp prefetch (per consumer)")
    parser.add_argument("--payload", type=int, default=64, help="payload bytes")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default=",".join(SETUPS), help="setups to run, comma-separated")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    if args.worker:
        worker_main()
        return
    if args.producer:
        producer_main(args.producer, args.jobs, args.batch, args.payload)
        return
    if args.pika_producer:
        pika_producer_main(args.pika_producer, args.queue, args.jobs, args.payload)
        return
    setups = [s for s in SETUPS if s in args.only.split(",")]
    if not setups:
        raise SystemExit(f"--only: pick among {', '.join(SETUPS)}")
    from tests.support.rabbitmq import RabbitMQ, missing_reason

    rabbit: RabbitMQ | None = None
    if {"pika", "amqp"} & set(setups):
        reason = missing_reason()
        if reason:
            raise SystemExit(reason)
        rabbit = RabbitMQ()
        rabbit.start()
    print(
        f"{args.jobs} jobs of {args.payload} B, batch {args.batch}, {args.workers} workers, "
        f"prefetch {args.prefetch}, {args.rounds} rounds, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    runs: dict[str, list[Result]] = {s: [] for s in setups}
    try:
        for n in range(args.rounds):
            for setup in setups:
                runs[setup].append(RUNNERS[setup](args, rabbit.url if rabbit else ""))
                print(f"round {n + 1}: {line(setup, runs[setup][-1])}", flush=True)
            for text in ratios(runs, n):
                print(f"round {n + 1}: {text}", flush=True)
    finally:
        if rabbit is not None:
            rabbit.close()
    print(f"median of {args.rounds} rounds (load average {os.getloadavg()[0]:.1f}):")
    for setup in setups:
        median = {k: statistics.median(r[k] for r in runs[setup]) for k in runs[setup][0]}
        print(f"  {line(setup, median)}")
    for other in ("pika", "memory"):
        if runs.get("amqp") and runs.get(other):
            pairs = list(zip(runs["amqp"], runs[other], strict=True))
            speed = statistics.median(a["jobs_per_s"] / b["jobs_per_s"] for a, b in pairs)
            cpu = statistics.median(total_cpu(b) / total_cpu(a) for a, b in pairs)
            print(
                f"  amqp/{other}: {speed:.2f} (jobs/s), "
                f"{cpu:.2f} (server+producer CPU per job, {other}/amqp)"
            )


if __name__ == "__main__":
    main()
