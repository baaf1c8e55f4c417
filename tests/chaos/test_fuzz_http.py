"""Fuzzing the HTTP front (issue 9): random and truncated request bytes against a real
in-process ``HttpServer``.

Every connection is answered or closed (the client half-closes after its bytes, so a server
waiting for more must notice the end), nothing crashes, no connection is left open, and the
server still serves a normal request afterwards.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.plugins.http.server.listener import HttpServer
from tests.chaos.report import Figures, Reporter
from tests.support.hub import call, wait_for

#: Silence after which a connection counts as left hanging.
HANG = 5.0

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

methods = st.sampled_from(["GET", "POST", "PUT", "HEAD", "OPTIONS", "DELETE", "G\x00T", ""])
targets = st.one_of(
    st.sampled_from(["/", "/a?b=c", "*", "http://x/y", "/%zz", "/" + "a" * 9000]),
    st.text(max_size=40).map(lambda s: "/" + s),
)
header_names = st.sampled_from(
    ["Host", "Content-Length", "Transfer-Encoding", "Connection", "Expect", "X-A", "Bad Name"]
)
header_values = st.one_of(
    st.sampled_from(["chunked", "close", "keep-alive", "100-continue", "-1", "5", "99999999999"]),
    st.text(max_size=30),
)
headers = st.lists(st.tuples(header_names, header_values), max_size=6)
bodies = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"5\r\nhello\r\n0\r\n\r\n", b"zz\r\n", b"ffffffff\r\n", b"0\r\n"]),
)


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    """A plausible request (or several), then cut anywhere, or plain noise."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=400))
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.1x", ""]))
    lines = [f"{draw(methods)} {draw(targets)} {version}"]
    lines += [f"{k}: {v}" for k, v in draw(headers)]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogatepass") + draw(bodies)
    raw *= draw(st.integers(1, 3))  # pipelining
    return raw[: draw(st.integers(0, len(raw)))]


def _handler(req: Any, resp: Any) -> None:
    resp.start(200, [("Content-Type", "text/plain")])
    resp.finish(b"len=%d" % len(req.body))


def _exchange(addr: tuple[str, int], data: bytes) -> bytes:
    """Send ``data``, half-close, read until the server closes; ``<<hang>>`` if it never does."""
    with socket.create_connection(addr, timeout=HANG) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        out = b""
        try:
            while chunk := sock.recv(65536):
                out += chunk
        except TimeoutError:
            return out + b"<<hang>>"
        except ConnectionResetError:
            return out
        return out


def _normal(addr: tuple[str, int]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(*addr, timeout=HANG)
    try:
        conn.request("POST", "/after", body=b"abc")
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_http_front_survives_random_and_truncated_requests(report: Reporter) -> None:
    server = HttpServer("127.0.0.1", 0, _handler, max_request_size=1 << 16)
    server.start()
    seen = {"examples": 0, "answered": 0}
    try:

        @FUZZ
        @given(requests())
        def one(data: bytes) -> None:
            out = call(_exchange, server.address, data)
            assert not out.endswith(b"<<hang>>"), f"connection left hanging after {data!r}"
            seen["examples"] += 1
            seen["answered"] += out.startswith(b"HTTP/1.")
            assert not out or out.startswith(b"HTTP/1."), f"not an HTTP answer: {out[:200]!r}"

        one()
        wait_for(lambda: server.connections == 0, timeout=HANG, what="every connection closed")
        assert call(_normal, server.address) == (200, b"len=3")
    finally:
        server.stop(1.0)
    figures = Figures("http front fuzz", sent=seen["examples"], answered=seen["answered"])
    figures.extra["closed_without_answer"] = seen["examples"] - seen["answered"]
    report(figures)
    assert seen["answered"] > 0, "no fuzzed request was ever answered: the fuzzer is broken"
