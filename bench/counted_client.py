"""Send exactly N keep-alive GET requests, over C connections, and read every answer.

``bench/instructions.py`` divides the instructions a server executed by the requests it
answered.  With wrk the count depends on how fast the server ran under valgrind, and so does
the path a request takes (whether the next one was already there, how many queued); a fixed
count from this client makes two runs of the same code agree within 1 %.  With C > 1 each
connection sends its next request soon after its answer is in, so the server's queue stays
about C deep, like wrk's.

Each connection waits THINK_MS (default 1) after an answer before its next request.  At native
speed a client needs far longer to answer than a server needs to get back to the socket, so a
server that reads right after answering finds nothing (and a gevent ``recv`` pays an EAGAIN
exception and a wait).  Under valgrind the server runs 30-50x slower and an instant client's
next request would already be there, a path the server never takes for real; the think time
keeps the order of events native.  1 ms is far below the time the server needs for the other
queued requests, so with C > 1 the queue stays full.

    python bench/counted_client.py PORT N [C [THINK_MS]]

Standard library only; exits non-zero on an answer that is not a 200.
"""

from __future__ import annotations

import heapq
import selectors
import socket
import sys
import time


def _answers(buf: bytes) -> tuple[int, bytes]:
    """Whole answers at the front of ``buf`` (Content-Length framed), and what is left."""
    done = 0
    while True:
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return done, buf
        head = buf[:end].lower()
        if not head.startswith(b"http/1.1 200"):
            raise SystemExit(f"counted_client: not a 200: {buf[:80]!r}")
        length = int(head.split(b"content-length:")[1].split(b"\r\n")[0])
        if len(buf) < end + 4 + length:
            return done, buf
        buf = buf[end + 4 + length :]
        done += 1


def run(port: int, total: int, connections: int = 1, think: float = 0.001) -> None:
    """Send ``total`` requests to 127.0.0.1:``port`` over ``connections`` connections."""
    request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % port
    sel = selectors.DefaultSelector()
    pending: dict[socket.socket, bytes] = {}
    due: list[tuple[float, int, socket.socket]] = []  # (when, tie-break, connection)
    sent = done = 0
    for _ in range(min(connections, total)):
        sock = socket.create_connection(("127.0.0.1", port), timeout=600)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sel.register(sock, selectors.EVENT_READ)
        pending[sock] = b""
        sock.sendall(request)
        sent += 1
    while done < total:
        now = time.monotonic()
        while due and due[0][0] <= now:
            sock = heapq.heappop(due)[2]
            sock.sendall(request)
        wait = max(0.0, due[0][0] - now) if due else 600.0
        for key, _ in sel.select(timeout=wait):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            data = sock.recv(65536)
            if not data:
                raise SystemExit("counted_client: the server closed a connection")
            answered, pending[sock] = _answers(pending[sock] + data)
            done += answered
            for _ in range(answered):
                if sent < total:
                    heapq.heappush(due, (time.monotonic() + think, sent, sock))
                    sent += 1
    for sock in pending:
        sock.close()


if __name__ == "__main__":
    run(
        int(sys.argv[1]),
        int(sys.argv[2]),
        int(sys.argv[3]) if len(sys.argv) > 3 else 1,
        float(sys.argv[4]) / 1000 if len(sys.argv) > 4 else 0.001,
    )
