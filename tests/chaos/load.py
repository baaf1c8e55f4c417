"""Closed-loop HTTP load from plain threads (the server under test is another process).

Each client keeps one keep-alive ``http.client`` connection and sends requests back to back
until the time is up or its request budget is spent, so every loop is bounded in count and
time.  A failure is recorded by kind (``status 500``, ``RemoteDisconnected``...), then the
client reconnects.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

#: A request that takes longer than this is a failure (kind ``TimeoutError``).
REQUEST_TIMEOUT = 15.0
#: No client sends more than this many requests, whatever the duration.
MAX_REQUESTS_PER_CLIENT = 100_000


@dataclass
class Outcome:
    """Everything the clients saw; filled from several threads, under ``lock``."""

    sent: int = 0
    answered: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    error_times: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    bodies_seen: set[bytes] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def failed(self) -> int:
        return sum(self.errors.values())


Check = Callable[[int, bytes], bool]


def ok_200(status: int, body: bytes) -> bool:
    """The default verdict: a 200 is a success, anything else an error."""
    return status == 200


class Load:
    """``clients`` threads hammering ``path`` on ``port`` until :meth:`stop` or ``seconds``."""

    def __init__(
        self,
        port: int,
        clients: int,
        seconds: float,
        path: str = "/",
        check: Check = ok_200,
        keep_bodies: bool = False,
    ) -> None:
        self.port = port
        self.path = path
        self.check = check
        self.keep_bodies = keep_bodies
        self.outcome = Outcome()
        self._deadline = time.monotonic() + seconds
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._client, name=f"chaos-client-{i}", daemon=True)
            for i in range(clients)
        ]

    def start(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def join(self) -> Outcome:
        """Wait for every client (each one finishes its request in flight first)."""
        for t in self._threads:
            t.join(REQUEST_TIMEOUT + 5)
        alive = [t.name for t in self._threads if t.is_alive()]
        assert not alive, f"load clients still running after their deadline: {alive}"
        return self.outcome

    def run(self) -> Outcome:
        """Start, wait for the deadline, join."""
        self.start()
        return self.join()

    def _running(self) -> bool:
        return not self._stop.is_set() and time.monotonic() < self._deadline

    def _client(self) -> None:
        out = self.outcome
        conn: http.client.HTTPConnection | None = None
        for _ in range(MAX_REQUESTS_PER_CLIENT):
            if not self._running():
                break
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
            began = time.monotonic()
            kind = ""
            body = b""
            status = 0
            try:
                conn.request("GET", self.path)
                resp = conn.getresponse()
                body = resp.read()
                status = resp.status
                if resp.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                kind = type(exc).__name__
                if conn is not None:
                    conn.close()
                conn = None
            took = time.monotonic() - began
            with out.lock:
                out.sent += 1
                if kind:
                    out.errors[kind] += 1
                    out.error_times.append(began)
                    continue
                out.answered += 1
                out.statuses[status] += 1
                out.latencies.append(took)
                if self.keep_bodies:
                    out.bodies_seen.add(body)
                if not self.check(status, body):
                    out.errors[f"status {status}"] += 1
                    out.error_times.append(began)
        if conn is not None:
            conn.close()
