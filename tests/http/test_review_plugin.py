"""Review findings on the http plugin glue (actors/plugins/http/plugin.py), end to end."""

from __future__ import annotations

import json
import socket
import sys

from tests.support.http_client import TIMEOUT, RawReader, raw_exchange, read_all, request
from tests.support.http_servers import wsgi_cmd
from tests.support.hub import call, spawn_call, wait_for
from tests.support.workers import WORKERS, worker_cmd


def _review_worker() -> list[str]:
    return [sys.executable, str(WORKERS / "review_app.py")]


def _wsgi(app: str) -> list[str]:
    return [*wsgi_cmd(app)[:-1], f"tests.http.review_apps:{app}"]


def _body(raw: bytes) -> bytes:
    return raw.partition(b"\r\n\r\n")[2]


def test_non_ascii_request_header_reaches_the_worker_as_utf8_text(servers):
    """RoadRunner hands the header bytes to Go's JSON encoder: UTF-8 ``é`` stays ``é``
    (and invalid UTF-8 becomes U+FFFD); it must not be re-read as latin-1 (``Ã©``)."""
    s = servers(_review_worker())
    raw = call(
        raw_exchange,
        s.addr,
        b"GET /echo HTTP/1.1\r\nHost: t\r\nX-Name: caf\xc3\xa9\r\nX-Bad: \xff\r\n"
        b"Connection: close\r\n\r\n",
    )
    seen = json.loads(_body(raw))
    assert seen["headers"]["X-Name"] == ["café"]
    assert seen["headers"]["X-Bad"] == ["\ufffd"]


def test_wsgi_app_sees_pep3333_strings_for_non_ascii_request_bytes(servers):
    s = servers(_wsgi("app"))
    raw = call(
        raw_exchange,
        s.addr,
        b"GET /environ HTTP/1.1\r\nHost: t\r\nX-Name: caf\xc3\xa9\r\nConnection: close\r\n\r\n",
    )
    env = json.loads(_body(raw))
    # PEP 3333: the wire bytes, one latin-1 character each.
    assert env["HTTP_X_NAME"] == "caf\u00c3\u00a9"


def test_non_ascii_response_header_leaves_as_utf8(servers):
    """Go writes a header string's bytes: the worker's ``é`` (UTF-8 in its JSON) is c3 a9."""
    s = servers(_review_worker())
    raw = call(
        raw_exchange, s.addr, b"GET /header HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n"), raw
    assert "X-Name: café Ω\r\n".encode() in raw
    assert "X-Latin: café\r\n".encode() in raw


def test_wsgi_latin1_header_value_leaves_as_its_bytes(servers):
    s = servers(_wsgi("app"))
    raw = call(
        raw_exchange, s.addr, b"GET /latin1-header HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n"), raw
    assert b"X-Utf8: caf\xc3\xa9\r\n" in raw


def test_error_after_an_empty_first_stream_chunk_is_a_500(servers):
    """Nothing was on the wire yet, so the client must get the error status, not the 200
    (and the JSON content type) the failed stream had announced."""
    s = servers(_review_worker())
    r = call(request, s.addr, "GET", "/empty-then-error")
    assert r.status == 500, r
    assert r.header("Content-Type") == "text/plain; charset=utf-8"
    r = call(request, s.addr, "GET", "/empty-then-crash")
    assert r.status == 500, r


def _half_close(addr: tuple[str, int], data: bytes) -> bytes:
    with socket.create_connection(addr, timeout=TIMEOUT) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        return read_all(sock)


def test_client_that_half_closes_still_gets_its_answer(servers):
    """A client may send its request and shut down its sending side (``nc -N``): the answer
    the worker produced must reach it, not an empty 200 invented by the server."""
    s = servers(_review_worker())
    raw = call(_half_close, s.addr, b"GET /sleep?s=0.3 HTTP/1.1\r\nHost: t\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n"), raw
    assert _body(raw) == b"slept"


def _stream_then_half_close(addr: tuple[str, int]) -> bytes:
    with socket.create_connection(addr, timeout=TIMEOUT) as sock:
        sock.sendall(b"GET /stream?n=200&delay=0.02 HTTP/1.1\r\nHost: t\r\n\r\n")
        reader = RawReader(sock)
        seen = reader.until(b"chunk-2\n")
        sock.shutdown(socket.SHUT_WR)
        return seen + reader.buf + read_all(sock)


def test_stream_cancelled_by_the_client_is_not_framed_as_complete(servers):
    """When the server stops a stream because the client left, the chunked body must not get
    its terminating zero chunk: a client still reading would take the cut body as whole."""
    s = servers(worker_cmd(), pool={"num_workers": 1})
    raw = call(_stream_then_half_close, s.addr)
    assert b"chunk-2\n" in raw
    assert b"chunk-199\n" not in raw
    assert not raw.endswith(b"0\r\n\r\n"), raw[-200:]


def test_queue_full_503_says_why(servers):
    s = servers(_review_worker(), pool={"num_workers": 1, "max_queue_size": 1})
    slow = spawn_call(request, s.addr, "GET", "/sleep?s=1")
    wait_for(lambda: s.busy(), what="the only worker to be busy")
    r = call(request, s.addr, "GET", "/sleep?s=0")
    assert r.status == 503
    assert r.header("Retry-After") == "1"
    assert b"no free workers" not in r.body
    assert b"queue" in r.body
    assert slow.get(timeout=TIMEOUT).status == 200


def test_access_log_line_has_the_status(tmp_path):
    """``http.access_logs`` must say how each request ended: status and bytes written."""
    from actors.system import ActorSystem

    out = tmp_path / "access.log"
    system = ActorSystem.from_dict(
        {
            "server": {"command": _review_worker()},
            "http": {"address": "127.0.0.1:0", "access_logs": True, "pool": {"num_workers": 1}},
            "logs": {"level": "info", "mode": "production", "output": str(out)},
        }
    )
    system.start()
    try:
        addr = system.plugins["http"].address
        assert call(request, addr, "GET", "/nowhere").status == 404
    finally:
        system.stop(timeout=5)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    (entry,) = [e for e in lines if e.get("msg") == "http access log"]
    assert entry["status"] == 404
    assert entry["method"] == "GET" and entry["uri"] == "/nowhere"
    assert entry["remote_address"] == "127.0.0.1"
    assert entry["write_bytes"] > len("no route /nowhere")
    assert entry["elapsed_ms"] >= 0


def test_listen_error_hint_matches_the_cause():
    """'is another server running there?' is for EADDRINUSE only: an address this host does
    not have (EADDRNOTAVAIL) needs another fix."""
    import pytest

    from actors.system import ActorSystem, StartupError

    system = ActorSystem.from_dict(
        {
            "server": {"command": worker_cmd()},
            "http": {"address": "192.0.2.1:8080", "pool": {"num_workers": 1}},
            "logs": {"level": "error", "mode": "off"},
        }
    )
    with pytest.raises(StartupError) as info:
        system.start()
    message = str(info.value)
    assert "http.address" in message and "192.0.2.1:8080" in message
    assert "another server" not in message
    assert "not an address of this host" in message


def test_headers_named_by_trailer_are_sent_as_trailers(servers):
    """RoadRunner's handleProtoTrailers: the headers a worker lists in ``Trailer`` leave after
    the body (so the body is chunked), and the ``Trailer`` key itself is dropped."""

    def exchange(addr: tuple[str, int]) -> tuple[int, list[tuple[str, str]], list[bytes], bytes]:
        with socket.create_connection(addr, timeout=TIMEOUT) as sock:
            sock.sendall(b"GET /trailer HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            reader = RawReader(sock)
            status, headers = reader.head()
            chunks = []
            while True:
                size = int(reader.until(b"\r\n")[:-2], 16)
                if size == 0:
                    break
                chunks.append(reader.exactly(size))
                reader.exactly(2)
            return status, headers, chunks, reader.until(b"\r\n\r\n")

    s = servers(_review_worker())
    status, headers, chunks, trailer = call(exchange, s.addr)
    names = {k.lower(): v for k, v in headers}
    assert status == 200
    assert names.get("transfer-encoding") == "chunked"
    assert "x-sum" not in names and "trailer" not in names
    assert names.get("x-keep") == "1"
    assert b"".join(chunks) == b"data"
    assert trailer == b"X-Sum: abc\r\n\r\n"


def test_request_read_timeout_is_roadrunners(servers):
    """RoadRunner's http server gives a request 5 minutes to arrive (ReadTimeout); with 60 s a
    100 MiB upload over a 1 MiB/s link was answered 408 here and accepted by RoadRunner.  The
    body is read before a worker is taken, so a slow upload costs no worker."""
    s = servers()
    assert s.plugin.server.read_timeout == 300.0
