"""Pool exec throughput: Greenrunner's ``pool.exec`` against a bare gevent loop.

Both sides drive the same Python echo worker (``bench/echo_worker.py``, the
SDK's echo loop) over pipes, with the same number of workers and concurrent
greenlets, in the same run.  The baseline has no actors, no state machine
and no supervision: a gevent queue of workers and raw frame I/O, the
fastest a gevent parent can go (``shared/baselines/poolbench.py``).

    python bench/exec.py [--workers 2] [--concurrency 32] [--seconds 5] [--body 16]

Prints exec/s for both and the ratio ours / baseline (goal: >= 0.8), with each side's
latency (p50, p99, max) and fairness (fewest and most calls one greenlet completed).

Two baselines: ``queue``, the shared baseline's gevent queue, where a greenlet that
releases a worker and asks again at once takes it back ahead of the greenlets already
waiting (fast, but with more greenlets than workers most of them starve: look at its
max latency and fewest calls); and ``fifo``, the same loop with a first-come-first-served
hand-over, which is what Greenrunner's free list does. The ``fifo`` ratio compares like
with like.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

import gevent
import gevent.os
import gevent.queue
import gevent.subprocess
from gevent.hub import Waiter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from relays.frame import CODEC_JSON, CONTROL, FrameReader, encode_data_frame, encode_frame  # noqa: E402
from relays.payload import Payload  # noqa: E402

WORKER = [sys.executable, str(ROOT / "bench" / "echo_worker.py")]


class Result:
    """Calls per second, and how evenly and how fast callers were served."""

    def __init__(self, rate: float, latencies: list[float], per_client: list[int]) -> None:
        self.rate = rate
        lat = sorted(latencies) or [0.0]
        self.p50 = lat[len(lat) // 2] * 1e3
        self.p99 = lat[int(len(lat) * 0.99)] * 1e3
        self.max = lat[-1] * 1e3
        self.fewest, self.most = min(per_client), max(per_client)

    def __str__(self) -> str:
        return (
            f"{self.rate:8.0f} exec/s  p50 {self.p50:6.2f} ms  p99 {self.p99:7.2f} ms  "
            f"max {self.max:7.1f} ms  calls/greenlet {self.fewest}..{self.most}"
        )


def drive(call, concurrency: int, seconds: float) -> Result:
    """Run ``call`` from ``concurrency`` greenlets; measure after a 0.5 s warm-up."""
    counts = [0] * concurrency
    latencies: list[float] = []
    measuring = False
    stop = False

    def client(i: int) -> None:
        while not stop:
            t = time.perf_counter()
            call()
            if measuring:
                latencies.append(time.perf_counter() - t)
                counts[i] += 1

    greenlets = [gevent.spawn(client, i) for i in range(concurrency)]
    gevent.sleep(0.5)  # warm-up
    measuring = True
    t0 = time.perf_counter()
    gevent.sleep(seconds)
    measuring = False
    elapsed = time.perf_counter() - t0
    stop = True
    gevent.joinall(greenlets, timeout=5)
    return Result(len(latencies) / elapsed, latencies, counts)


class FifoFree:
    """The least a first-come-first-served free list needs: idle workers or waiters."""

    def __init__(self) -> None:
        self.idle: deque = deque()
        self.waiters: deque = deque()

    def get(self):
        if self.idle:
            return self.idle.popleft()
        waiter = Waiter()
        self.waiters.append(waiter)
        return waiter.get()

    def put(self, w) -> None:
        if self.waiters:
            gevent.get_hub().loop.run_callback(self.waiters.popleft().switch, w)
        else:
            self.idle.append(w)


class RawWorker:
    """A worker process driven with nothing but frames over gevent pipes."""

    def __init__(self) -> None:
        env = dict(os.environ, RR_RELAY="pipes")
        self.p = gevent.subprocess.Popen(
            WORKER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        self.r, self.w = self.p.stdout.fileno(), self.p.stdin.fileno()
        gevent.os.make_nonblocking(self.r)
        gevent.os.make_nonblocking(self.w)
        self.reader = FrameReader(lambda n: gevent.os.nb_read(self.r, n))
        self._write(encode_frame(b'{"pid":1}', CONTROL | CODEC_JSON))
        self.reader.read_frame()

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[gevent.os.nb_write(self.w, view) :]

    def exec(self, frame: bytes) -> bytes:
        self._write(frame)
        return self.reader.read_frame().payload

    def close(self) -> None:
        self.p.stdin.close()
        self.p.wait()


def baseline(workers: int, concurrency: int, seconds: float, body: bytes, fifo: bool) -> Result:
    frame = encode_data_frame(b"", body)
    free = FifoFree() if fifo else gevent.queue.Queue()
    ws = [RawWorker() for _ in range(workers)]
    for w in ws:
        free.put(w)

    def call() -> None:
        w = free.get()
        try:
            assert w.exec(frame) == body
        finally:
            free.put(w)

    try:
        return drive(call, concurrency, seconds)
    finally:
        for w in ws:
            w.close()


def greenrunner(workers: int, concurrency: int, seconds: float, body: bytes) -> Result:
    from actors import ActorSystem

    system = ActorSystem.from_dict(
        {"server": {"command": WORKER}, "logs": {"level": "error", "mode": "production"}}
    )
    pool = system.new_pool("bench", {"num_workers": workers})
    payload = Payload(body)

    def call() -> None:
        assert pool.exec(payload).body == body

    try:
        return drive(call, concurrency, seconds)
    finally:
        system.stop(timeout=5)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--body", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    body = b"x" * a.body
    print(
        f"exec bench: {a.workers} echo workers on pipes, {a.concurrency} greenlets, "
        f"{a.seconds:g}s, body {a.body} B, {a.rounds} rounds (alternating)"
    )
    ours, queue, fifo = [], [], []
    for r in range(1, a.rounds + 1):
        queue.append(baseline(a.workers, a.concurrency, a.seconds, body, fifo=False))
        fifo.append(baseline(a.workers, a.concurrency, a.seconds, body, fifo=True))
        ours.append(greenrunner(a.workers, a.concurrency, a.seconds, body))
        print(f"  round {r}:")
        print(f"    baseline queue {queue[-1]}")
        print(f"    baseline fifo  {fifo[-1]}")
        print(f"    greenrunner    {ours[-1]}")
        print(
            f"    ratio vs fifo {ours[-1].rate / fifo[-1].rate:.2f}, "
            f"vs queue {ours[-1].rate / queue[-1].rate:.2f}"
        )

    def median(results: list[Result]) -> float:
        return sorted(x.rate for x in results)[len(results) // 2]

    mq, mf, mo = median(queue), median(fifo), median(ours)
    print(
        f"median: baseline queue {mq:.0f}, baseline fifo {mf:.0f}, greenrunner {mo:.0f} exec/s; "
        f"ratio vs fifo {mo / mf:.2f}, vs queue {mo / mq:.2f}"
    )


if __name__ == "__main__":
    main()
