"""HTTP/2 end to end: ``curl --http2`` / ``--http2-prior-knowledge`` and an ``h2`` client,
against real workers (Python SDK, WSGI, raw PHP), over TLS (ALPN) and h2c."""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import gevent
import h2.errors
import h2.settings
import pytest

from tests.support.h2_client import H2Client
from tests.support.http_servers import Server, wsgi_cmd
from tests.support.hub import call, wait_for
from tests.support.tls import TlsServers, client_context, tls_address
from tests.support.workers import REPO

from .h2_worker import big_body

WORKER = [sys.executable, str(Path(__file__).with_name("h2_worker.py"))]


@pytest.fixture
def both(tls_servers: TlsServers) -> Server:
    """A server with a TLS listener (h2 by ALPN) and an h2c-enabled plain one."""
    return tls_servers(
        WORKER,
        http={"address": "127.0.0.1:0", "ssl": tls_servers.ssl(), "http2": {"h2c": True}},
    )


def _curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["curl", "-sS", "--max-time", "20", *args], capture_output=True, text=True, timeout=30
    )


def test_curl_http2_over_tls_by_alpn(both: Server, certs: Path):
    port = tls_address(both)[1]
    url = f"https://localhost:{port}/echo?q=1"
    out = call(_curl, "--http2", "--cacert", str(certs / "ca.pem"), "-w", "\n%{http_version}", url)
    body, _, version = out.stdout.rpartition("\n")
    assert version == "2"
    echo = json.loads(body)
    assert echo["protocol"] == "HTTP/2.0"
    assert echo["uri"] == f"https://localhost:{port}/echo?q=1"  # :authority became Host


def test_alpn_falls_back_to_http_1_1(both: Server, certs: Path):
    port = tls_address(both)[1]
    url = f"https://localhost:{port}/echo"
    out = call(_curl, "--http1.1", "--cacert", str(certs / "ca.pem"), url)
    assert json.loads(out.stdout)["protocol"] == "HTTP/1.1"


def test_curl_h2c_prior_knowledge(both: Server):
    url = f"http://127.0.0.1:{both.addr[1]}/echo?x=y"
    out = call(_curl, "--http2-prior-knowledge", "-w", "\n%{http_version}", url)
    body, _, version = out.stdout.rpartition("\n")
    assert version == "2", out.stderr
    assert json.loads(body)["uri"] == f"http://127.0.0.1:{both.addr[1]}/echo?x=y"
    plain = call(_curl, url)  # the same listener still speaks HTTP/1.1
    assert json.loads(plain.stdout)["protocol"] == "HTTP/1.1"


def test_without_h2c_the_plain_listener_does_not_speak_http2(tls_servers: TlsServers):
    server = tls_servers(WORKER, http={"address": "127.0.0.1:0"})
    out = call(_curl, "--http2-prior-knowledge", f"http://127.0.0.1:{server.addr[1]}/echo")
    # (curl's exit status is not checked: the server's child reaper may collect curl first.)
    assert out.stdout == ""
    assert out.stderr.startswith("curl: ")


def test_100_concurrent_streams_on_one_connection(both: Server, certs: Path):
    def run() -> list[tuple[int, dict]]:
        with H2Client(tls_address(both), tls=client_context(certs)) as client:
            sids = [client.start("GET", f"/echo?i={i}") for i in range(100)]
            assert len(set(sids)) == 100
            return [(s.status, json.loads(s.data)) for s in client.wait_all(sids, timeout=60)]

    answers = call(run)
    assert [status for status, _ in answers] == [200] * 100
    assert [echo["rawQuery"] for _, echo in answers] == [f"i={i}" for i in range(100)]
    assert {echo["protocol"] for _, echo in answers} == {"HTTP/2.0"}


def test_max_concurrent_streams_is_announced(tls_servers: TlsServers):
    server = tls_servers(
        WORKER, http={"address": "127.0.0.1:0", "http2": {"h2c": True, "max_concurrent_streams": 7}}
    )

    def settings() -> int:
        with H2Client(server.addr) as client:
            while not client.remote_settings_seen:
                client.pump()
            return client.conn.remote_settings.max_concurrent_streams

    assert call(settings) == 7


def test_streamed_response_and_trailers(both: Server):
    def run() -> tuple:
        with H2Client(both.addr) as client:
            stream = client.get("/stream?n=50")
            trailed = client.get("/trailers")
            return stream, trailed

    stream, trailed = call(run)
    assert stream.status == 200
    assert stream.headers["x-stream"] == "yes"
    assert bytes(stream.data) == b"".join(f"chunk-{i}\n".encode() for i in range(50))
    assert trailed.ended
    assert bytes(trailed.data) == b"part-1\npart-2\n"
    assert trailed.trailers == {"x-checksum": hashlib.sha256(b"part-1\npart-2\n").hexdigest()}
    assert "x-checksum" not in trailed.headers and "trailer" not in trailed.headers


def test_informational_103_before_the_answer(both: Server):
    stream = call(lambda: H2Client(both.addr).get("/hints"))
    assert stream.informational == [(103, {"link": "</style.css>; rel=preload; as=style"})]
    assert (stream.status, bytes(stream.data)) == (200, b"after hints")


def test_big_upload_with_flow_control(both: Server, certs: Path):
    body = hashlib.sha256(b"seed").digest() * (8 * 1024 * 1024 // 32)  # 8 MiB > every window

    def run():
        with H2Client(tls_address(both), tls=client_context(certs)) as client:
            return client.request("POST", "/digest", body=body)

    stream = call(run)
    assert stream.status == 200, bytes(stream.data)
    answer = json.loads(stream.data)
    assert (answer["size"], answer["sha256"]) == (len(body), hashlib.sha256(body).hexdigest())


def test_big_download_waits_for_a_slow_reader(both: Server):
    """With a 64 KiB window not acknowledged, the server sends 64 KiB and waits (no unbounded
    buffering); once the reader acknowledges, the whole body arrives intact."""
    window = 65535

    def run() -> tuple[int, int, bytes]:
        client = H2Client(
            both.addr, settings={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window}
        )
        client.auto_ack = False
        with client:
            sid = client.start("GET", "/big?mib=4")
            stream = client.streams[sid]
            deadline = time.monotonic() + 2.0
            client.sock.settimeout(0.3)
            while time.monotonic() < deadline:
                with contextlib.suppress(TimeoutError):
                    client.pump()
            stalled = len(stream.data)
            client.sock.settimeout(20)
            client.conn.acknowledge_received_data(stalled, sid)
            client.auto_ack = True
            client._flush()
            client.wait(sid)
            return stalled, stream.status, bytes(stream.data)

    stalled, status, data = call(run)
    assert 0 < stalled <= window  # the server honoured our window and waited
    assert status == 200
    assert data == big_body(4)


def test_body_over_max_request_size_is_413(tls_servers: TlsServers):
    server = tls_servers(
        WORKER,
        http={"address": "127.0.0.1:0", "http2": {"h2c": True}, "max_request_size": 1},
        pool={"num_workers": 1},
    )
    execs = server.execs()

    def run():
        with H2Client(server.addr) as client:
            big = client.request("POST", "/digest", body=b"x" * (2 * 1024 * 1024))
            after = client.get("/pid")  # the connection survives
            return big, after

    big, after = call(run)
    assert big.status == 413
    assert after.status == 200
    assert server.execs() == execs + 1  # only /pid reached a worker


def test_a_header_block_over_the_limit_is_431_and_far_over_it_ends_the_connection(both: Server):
    def run():
        with H2Client(both.addr) as client:
            over = client.request("GET", "/echo", headers=[("x-big", "a" * 70_000)])
            after = client.get("/pid")  # the connection survives a 431
            sid = client.start("GET", "/echo", headers=[("x-big", "a" * 200_000)])
            client.wait(sid)
            return over, after, client.terminated

    over, after, terminated = call(run)
    assert over.status == 431
    assert after.status == 200
    assert terminated is not None
    assert terminated.error_code == h2.errors.ErrorCodes.ENHANCE_YOUR_CALM


def test_client_reset_stops_the_worker_stream(both: Server, short_tmp: Path):
    marker = short_tmp / "stopped"

    def run() -> int:
        with H2Client(both.addr) as client:
            sid = client.start("GET", f"/stream?n=5000&delay=0.01&marker={marker}")
            stream = client.streams[sid]
            while len(stream.data) < 20:
                client.pump()
            client.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
            client._flush()
            ok = client.get("/pid").status  # other streams carry on
            return ok

    assert call(run) == 200
    wait_for(lambda: marker.exists() and marker.read_text().startswith("stopped"), timeout=10)


def test_a_response_cut_by_a_dying_worker_is_reset(both: Server):
    def run():
        with H2Client(both.addr) as client:
            return client.get("/midcrash"), client.get("/pid")

    cut, after = call(run)
    assert cut.status == 200
    assert cut.reset is not None and not cut.ended  # RST_STREAM, never a clean END_STREAM
    assert after.status == 200


def test_connection_loss_sets_client_gone(both: Server, short_tmp: Path):
    marker = short_tmp / "gone"

    def run() -> None:
        client = H2Client(both.addr)
        sid = client.start("GET", f"/stream?n=5000&delay=0.01&marker={marker}")
        while len(client.streams[sid].data) < 20:
            client.pump()
        client.sock.close()  # no GOAWAY, no RST: the TCP connection just ends

    call(run)
    wait_for(lambda: marker.exists() and marker.read_text().startswith("stopped"), timeout=10)


def test_wsgi_worker_over_http2(tls_servers: TlsServers, certs: Path):
    server = tls_servers(wsgi_cmd("app"), http={"ssl": tls_servers.ssl()}, pool={"num_workers": 1})

    def run():
        with H2Client(tls_address(server), tls=client_context(certs)) as client:
            return client.request(
                "POST",
                "/environ?a=1",
                body=b"wsgi body",
                headers=[("cookie", "a=1"), ("cookie", "b=2")],
            ), client.get("/stream?n=20")

    environ, stream = call(run)
    env = json.loads(environ.data)
    assert env["SERVER_PROTOCOL"] == "HTTP/2.0"
    assert env["wsgi.url_scheme"] == "https"
    assert env["QUERY_STRING"] == "a=1"
    assert env["HTTP_COOKIE"] == "a=1; b=2"  # split cookie fields are joined, as Go does
    assert env["body_sha256"] == hashlib.sha256(b"wsgi body").hexdigest()
    assert bytes(stream.data) == b"".join(f"wsgi-{i}\n".encode() for i in range(20))


def test_raw_php_worker_over_http2(tls_servers: TlsServers, certs: Path):
    if shutil.which("php") is None:
        pytest.skip("php-cli is not installed")
    php = f"php {REPO / 'examples' / 'php' / 'raw_worker.php'}"
    server = tls_servers(php, http={"ssl": tls_servers.ssl()}, pool={"num_workers": 1})
    port = tls_address(server)[1]
    out = call(
        _curl, "--http2", "--cacert", str(certs / "ca.pem"), f"https://localhost:{port}/p?x=1"
    )
    assert out.stdout.startswith("Hello from raw PHP"), out.stderr
    assert f"GET https://localhost:{port}/p?x=1" in out.stdout


def test_stop_lets_in_flight_streams_finish(tls_servers: TlsServers):
    server = tls_servers(WORKER, http={"address": "127.0.0.1:0", "http2": {"h2c": True}})

    def run():
        with H2Client(server.addr) as client:
            sid = client.start("GET", "/sleep?s=1")
            time.sleep(0.3)
            return client.wait(sid), client.terminated

    pending = gevent.spawn(call, run)
    wait_for(server.busy, timeout=10)  # the stream is in a worker
    server.plugin.server.stop(10)
    stream, _ = pending.get(timeout=20)
    assert stream.status == 200 and stream.ended


def test_head_has_the_length_and_no_body(both: Server):
    def run():
        with H2Client(both.addr) as client:
            return client.get("/pid"), client.request("HEAD", "/pid")

    get, head = call(run)
    assert head.status == 200 and head.ended
    assert head.data == b""
    assert head.headers["content-length"] == str(len(get.data))


def test_rapid_reset_cannot_start_handlers_without_bound(tls_servers: TlsServers):
    """Streams opened and reset at once are closed for h2's stream count, but their handlers
    run (waiting for the only, busy worker): past twice max_concurrent_streams in flight the
    connection is closed, and the server keeps serving others."""
    server = tls_servers(
        WORKER,
        http={"address": "127.0.0.1:0", "http2": {"h2c": True, "max_concurrent_streams": 4}},
        pool={"num_workers": 1, "allocate_timeout": "10s"},
    )

    def attack():
        with H2Client(server.addr) as client:
            client.start("GET", "/sleep?s=3")  # holds the only worker
            for _ in range(50):
                sid = client.start("GET", "/pid")
                client.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
            client._flush()
            while client.terminated is None and client.pump():
                pass
            return client.terminated

    terminated = call(attack)
    assert terminated is not None
    assert terminated.error_code == h2.errors.ErrorCodes.ENHANCE_YOUR_CALM
    assert call(lambda: H2Client(server.addr).get("/pid")).status == 200
