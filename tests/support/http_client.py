"""Blocking HTTP clients for the end-to-end tests (http plugin, faults).

Each one blocks its thread: run it with :func:`tests.support.hub.call` so the server, on the
test's gevent hub, keeps serving meanwhile.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
from pathlib import Path
from typing import Any

import gevent

Addr = tuple[str, int]

#: Every client socket gives up after this long: a hung server fails the test instead of hanging.
TIMEOUT = 20.0


class Response:
    """What a test looks at: status, headers (all values, in order), body."""

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.body[:200]!r}>"


def request(
    addr: Addr,
    method: str = "GET",
    path: str = "/",
    body: bytes | None = None,
    headers: list[tuple[str, str]] | dict[str, str] | None = None,
    encode_chunked: bool = False,
) -> Response:
    """One request on a fresh ``http.client`` connection (blocking: wrap it in :func:`call`).

    ``headers`` as a list may repeat a name: each pair becomes its own header line.
    """
    conn = http.client.HTTPConnection(*addr, timeout=TIMEOUT)
    try:
        conn.putrequest(method, path)
        items = headers.items() if isinstance(headers, dict) else (headers or [])
        names = set()
        for name, value in items:
            conn.putheader(name, value)
            names.add(name.lower())
        if encode_chunked:
            conn.putheader("Transfer-Encoding", "chunked")
        elif body is not None and "content-length" not in names:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        if body is not None:
            if encode_chunked:
                for i in range(0, len(body), 65536):
                    piece = body[i : i + 65536]
                    conn.send(b"%x\r\n%b\r\n" % (len(piece), piece))
                conn.send(b"0\r\n\r\n")
            else:
                conn.send(body)
        resp = conn.getresponse()
        return Response(resp.status, resp.getheaders(), resp.read())
    finally:
        conn.close()


def body_of(raw: bytes) -> bytes:
    """The body of one raw response: everything after its head."""
    return raw.partition(b"\r\n\r\n")[2]


def get(addr: Addr, path: str) -> Response:
    """Blocking GET on a fresh connection."""
    return request(addr, "GET", path)


def raw_exchange(addr: Addr, data: bytes, timeout: float = TIMEOUT) -> bytes:
    """Send raw bytes on a fresh connection; return everything until the server closes."""
    with socket.create_connection(addr, timeout=timeout) as sock:
        # The server may answer and close before it has read everything.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        return read_all(sock)


def read_all(sock: socket.socket) -> bytes:
    """Read until the peer closes (a reset after the answer counts as a close)."""
    out = b""
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            return out
        if not data:
            return out
        out += data


class RawReader:
    """A buffered reader on a raw socket, for checking framing byte by byte."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError(f"peer closed; unread buffer: {self.buf[:200]!r}")
        self.buf += data

    def until(self, marker: bytes) -> bytes:
        """Return everything up to and including ``marker``."""
        while marker not in self.buf:
            self._fill()
        idx = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:idx], self.buf[idx:]
        return out

    def exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def head(self) -> tuple[int, list[tuple[str, str]]]:
        """One response head: the status and its header lines."""
        lines = self.until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = []
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers.append((name, value.strip()))
        return status, headers

    def chunks(self) -> list[bytes]:
        """A chunked body, chunk by chunk as it was framed on the wire (trailers skipped)."""
        out: list[bytes] = []
        while True:
            size = int(self.until(b"\r\n")[:-2].split(b";")[0], 16)
            if size == 0:
                self.until(b"\r\n")  # no trailers: the empty line after the last chunk
                return out
            out.append(self.exactly(size))
            assert self.exactly(2) == b"\r\n", "chunk not followed by CRLF"


def fetch(addr: Addr, path: str) -> tuple[int, bytes]:
    """GET from a greenlet: the blocking client runs in the hub's threadpool, so a server on
    the same hub keeps serving; returns ``(status, body)``."""
    response = gevent.get_hub().threadpool.apply(get, (addr, path))
    return response.status, response.body


def metrics_series(addr: Addr) -> dict[str, float]:
    """The ``/metrics`` page of a metrics server as ``{'name{labels}': value}`` (comments
    dropped), fetched from a greenlet like :func:`fetch`."""
    status, body = fetch(addr, "/metrics")
    assert status == 200
    series = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            series[name] = float(value)
    return series


def address_from_log(log: Path) -> Addr | None:
    """The address of a JSON-logging server's http plugin, once its start line is written."""
    with contextlib.suppress(OSError):
        for line in log.read_text().splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if entry.get("msg") == "http server was started":
                    host, _, port = entry["address"].rpartition(":")
                    return host, int(port)
    return None
