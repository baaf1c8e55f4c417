"""Slowloris clients: many connections that each send a request head one byte at a time.

One thread drives every connection (non-blocking sockets and ``select``), keeps ``count``
of them open by reopening those the server cut, and records how long each one lived.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from dataclasses import dataclass, field

#: A request head that never ends: the trailing header value grows a byte at a time.
HEAD = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


@dataclass
class _Slow:
    sock: socket.socket
    opened: float
    next_send: float
    sent: int = 0


@dataclass
class SlowResult:
    """Lifetimes of the connections the server cut, and of those still open at the end."""

    opened: int = 0
    refused: int = 0
    cut_after: list[float] = field(default_factory=list)
    open_at_end: list[float] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)

    @property
    def longest(self) -> float:
        return max(self.cut_after + self.open_at_end, default=0.0)


class Slowloris:
    """``count`` slow connections to ``port`` for ``seconds``, a byte every ``every`` s."""

    def __init__(self, port: int, count: int, seconds: float, every: float = 2.0) -> None:
        self.port = port
        self.count = count
        self.seconds = seconds
        self.every = every
        self.result = SlowResult()
        self._thread = threading.Thread(target=self._run, name="chaos-slowloris", daemon=True)

    def start(self) -> Slowloris:
        self._thread.start()
        return self

    def join(self) -> SlowResult:
        self._thread.join(self.seconds + 30)
        assert not self._thread.is_alive(), "slowloris driver still running after its deadline"
        return self.result

    def _open(self, now: float) -> _Slow | None:
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=2)
        except OSError:
            self.result.refused += 1
            return None
        sock.setblocking(False)
        self.result.opened += 1
        return _Slow(sock, now, now)

    def _run(self) -> None:
        res = self.result
        deadline = time.monotonic() + self.seconds
        live: list[_Slow] = []
        max_opens = self.count * (int(self.seconds) + 2)
        try:
            while time.monotonic() < deadline:
                now = time.monotonic()
                while len(live) < self.count and res.opened + res.refused < max_opens:
                    slow = self._open(now)
                    if slow is None:
                        break
                    live.append(slow)
                for slow in [s for s in live if s.next_send <= now]:
                    byte = HEAD[slow.sent : slow.sent + 1] or b"a"
                    with contextlib.suppress(OSError):
                        slow.sock.send(byte)
                    slow.sent += 1
                    slow.next_send = now + self.every
                readable, _, _ = select.select([s.sock for s in live], [], [], 0.1)
                for sock in readable:
                    slow = next(s for s in live if s.sock is sock)
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        data = b""
                    if data:
                        key = data.split(b"\r\n", 1)[0].decode("latin-1")
                        res.answers[key] = res.answers.get(key, 0) + 1
                    res.cut_after.append(time.monotonic() - slow.opened)
                    sock.close()
                    live.remove(slow)
        finally:
            end = time.monotonic()
            for slow in live:
                res.open_at_end.append(end - slow.opened)
                slow.sock.close()
