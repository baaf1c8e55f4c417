"""TCP echo round trips: Greenrunner's tcp plugin against a bare gevent echo server.

Both servers forward every delimited message to the same worker processes
(this file run with ``--worker``: the SDK's ``TcpWorker`` echoing ``DATA``)
over pipes, with the same number of workers, and answer the client with the
worker's body.  The baseline is the least a gevent parent can do: a
``StreamServer``, a queue of workers, a pre-built context and raw frame I/O;
no events but DATA, no uuid, no framing rules, no actors, no supervision.

The clients run in another process (``--client``), so the server under test
has its hub to itself: each of ``--connections`` connections sends one line
and waits for its echo, again and again.

    python bench/tcp.py [--workers 2] [--connections 32] [--seconds 5] [--body 16] [--rounds 1]

Prints round trips per second for both and the ratio ours / baseline, from one run
(``--rounds N`` alternates N runs of each and prints the median too).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DELIMITER = b"\r\n"


def worker_main() -> None:
    """The worker: stdlib only, the SDK's tcp loop."""
    from relays.tcp import TcpEvent, TcpWorker

    tcp = TcpWorker()
    while (request := tcp.wait_request()) is not None:
        if request.event is TcpEvent.DATA:
            tcp.respond(request.body)
        elif request.event is TcpEvent.CONNECTED:
            tcp.read()
        else:
            tcp.close()


def client_main(host: str, port: int, connections: int, seconds: float, body: int) -> None:
    """Drive ``connections`` lock-step echo clients; print round trips per second."""
    import gevent
    from gevent import socket

    line = b"x" * body + DELIMITER
    count = 0
    stop = False

    def client() -> None:
        nonlocal count
        sock = socket.create_connection((host, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while not stop:
                sock.sendall(line)
                got = b""
                while not got.endswith(DELIMITER):
                    chunk = sock.recv(65536)
                    if not chunk:
                        raise ConnectionError("the server closed the connection")
                    got += chunk
                count += 1
        finally:
            sock.close()

    greenlets = [gevent.spawn(client) for _ in range(connections)]
    gevent.sleep(1.0)  # warm-up
    c0, t0 = count, time.perf_counter()
    gevent.sleep(seconds)
    n, elapsed = count - c0, time.perf_counter() - t0
    stop = True
    gevent.joinall(greenlets, timeout=5)
    errors = [g.exception for g in greenlets if g.exception is not None]
    if errors:
        raise SystemExit(f"client failed: {errors[0]!r}")
    print(n / elapsed)


def run_clients(address: tuple[str, int], a: argparse.Namespace) -> float:
    """Run the client process against ``address`` while this hub serves; its rate."""
    import gevent.subprocess

    proc = gevent.subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--client",
            address[0],
            str(address[1]),
            str(a.connections),
            str(a.seconds),
            str(a.body),
        ],
        stdout=subprocess.PIPE,
    )
    out, _ = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"the client process failed (exit {proc.returncode})")
    return float(out.decode().strip().splitlines()[-1])


def baseline(a: argparse.Namespace) -> float:
    import gevent.os
    import gevent.queue
    import gevent.subprocess
    from gevent.server import StreamServer

    from relays.frame import CODEC_JSON, CONTROL, FrameReader, encode_data_frame, encode_frame

    class RawWorker:
        def __init__(self) -> None:
            env = dict(os.environ, RR_RELAY="pipes", RR_MODE="tcp")
            self.p = gevent.subprocess.Popen(
                [sys.executable, __file__, "--worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
            )
            assert self.p.stdout is not None and self.p.stdin is not None
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
            assert self.p.stdin is not None
            self.p.stdin.close()
            self.p.wait()

    free: gevent.queue.Queue[RawWorker] = gevent.queue.Queue()
    workers = [RawWorker() for _ in range(a.workers)]
    for w in workers:
        free.put(w)
    context = b'{"remote_addr":"127.0.0.1:1","server":"bench","uuid":"u","event":"DATA"}'

    def handle(sock: object, address: object) -> None:
        pending = b""
        while True:
            chunk = sock.recv(65536)  # type: ignore[attr-defined]
            if not chunk:
                return
            pending += chunk
            if not pending.endswith(DELIMITER):
                continue
            w = free.get()
            try:
                answer = w.exec(encode_data_frame(context, pending))
            finally:
                free.put(w)
            pending = b""
            sock.sendall(answer[5:])  # type: ignore[attr-defined]  # after the word WRITE

    server = StreamServer(("127.0.0.1", 0), handle)
    server.start()
    try:
        return run_clients(server.address[:2], a)
    finally:
        server.stop(timeout=1)
        for w in workers:
            w.close()


def greenrunner(a: argparse.Namespace) -> float:
    from actors import ActorSystem

    system = ActorSystem.from_dict(
        {
            "server": {"command": [sys.executable, __file__, "--worker"]},
            "logs": {"level": "error", "mode": "production"},
            "tcp": {
                "servers": {"bench": {"addr": "127.0.0.1:0"}},
                "pool": {"num_workers": a.workers},
            },
        }
    ).start()
    try:
        return run_clients(system.plugins["tcp"].address("bench"), a)
    finally:
        system.stop(timeout=5)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--body", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=1, help="alternating rounds; median shown")
    a = ap.parse_args()
    print(
        f"tcp bench: {a.workers} echo workers on pipes, {a.connections} lock-step connections, "
        f"{a.seconds:g}s, {a.body} B + CRLF per message, {a.rounds} round(s)"
    )
    bases, ours = [], []
    for r in range(1, a.rounds + 1):
        bases.append(baseline(a))
        ours.append(greenrunner(a))
        print(
            f"  round {r}: baseline (bare gevent echo server) {bases[-1]:8.0f} round trips/s   "
            f"greenrunner (tcp plugin) {ours[-1]:8.0f} round trips/s   "
            f"ratio {ours[-1] / bases[-1]:.2f}"
        )
    ratios = sorted(o / b for o, b in zip(ours, bases, strict=True))
    mb, mo = sorted(bases)[len(bases) // 2], sorted(ours)[len(ours) // 2]
    print(
        f"median: baseline {mb:.0f}/s, greenrunner {mo:.0f}/s; "
        f"ratio greenrunner / baseline (median of rounds) {ratios[len(ratios) // 2]:.2f}"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker_main()
    elif sys.argv[1:2] == ["--client"]:
        host, port, conns, secs, body = sys.argv[2:7]
        client_main(host, int(port), int(conns), float(secs), int(body))
    else:
        main()
