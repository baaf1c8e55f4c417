"""Pool exec throughput: Greenrunner's ``pool.exec`` against a bare gevent loop.

Both sides drive the same Python echo worker (``bench/echo_worker.py``, the
SDK's echo loop) over pipes, with the same number of workers and concurrent
greenlets, in the same run.  The baseline has no actors, no state machine
and no supervision: a gevent queue of workers and raw frame I/O, the
fastest a gevent parent can go (``shared/baselines/poolbench.py``).

    python bench/exec.py [--workers 2] [--concurrency 32] [--seconds 5] [--body 16]

Prints exec/s for both and the ratio ours / baseline (goal: >= 0.8).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import gevent
import gevent.os
import gevent.queue
import gevent.subprocess

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from relays.frame import CODEC_JSON, CONTROL, FrameReader, encode_data_frame, encode_frame  # noqa: E402
from relays.payload import Payload  # noqa: E402

WORKER = [sys.executable, str(ROOT / "bench" / "echo_worker.py")]


def drive(call, concurrency: int, seconds: float) -> float:
    """Run ``call`` from ``concurrency`` greenlets; return completed calls per second."""
    count = 0
    stop = False

    def client() -> None:
        nonlocal count
        while not stop:
            call()
            count += 1

    greenlets = [gevent.spawn(client) for _ in range(concurrency)]
    gevent.sleep(0.5)  # warm-up
    c0, t0 = count, time.perf_counter()
    gevent.sleep(seconds)
    n, elapsed = count - c0, time.perf_counter() - t0
    stop = True
    gevent.joinall(greenlets, timeout=5)
    return n / elapsed


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


def baseline(workers: int, concurrency: int, seconds: float, body: bytes) -> float:
    frame = encode_data_frame(b"", body)
    free: gevent.queue.Queue = gevent.queue.Queue()
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


def greenrunner(workers: int, concurrency: int, seconds: float, body: bytes) -> float:
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
    ours, base = [], []
    for r in range(1, a.rounds + 1):
        base.append(baseline(a.workers, a.concurrency, a.seconds, body))
        ours.append(greenrunner(a.workers, a.concurrency, a.seconds, body))
        print(
            f"  round {r}: baseline {base[-1]:8.0f} exec/s   greenrunner {ours[-1]:8.0f} exec/s"
            f"   ratio {ours[-1] / base[-1]:.2f}"
        )
    mb, mo = sorted(base)[len(base) // 2], sorted(ours)[len(ours) // 2]
    print(f"median: baseline {mb:.0f} exec/s, greenrunner {mo:.0f} exec/s, ratio {mo / mb:.2f}")


if __name__ == "__main__":
    main()
