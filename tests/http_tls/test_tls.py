"""HTTPS end to end: real certificates (openssl CLI), real sockets, real worker processes."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import ssl
import time
from pathlib import Path

import pytest

from actors.plugins.http.server.tls import TLS12_CIPHERS
from tests.support.hub import call, wait_for
from tests.support.tls import (
    TIMEOUT,
    TlsServers,
    client_context,
    https_get,
    tls_address,
    tls_exchange,
)
from tests.support.workers import REPO


def test_https_request_reaches_the_worker_with_an_https_uri(tls_servers: TlsServers, certs):
    server = tls_servers(http={"ssl": tls_servers.ssl()})  # TLS only: no http.address
    addr = tls_address(server)
    assert server.addr == addr  # the plugin's address is the TLS one when there is no other
    status, _, body = call(https_get, addr, "/echo?x=1", client_context(certs))
    assert status == 200, body
    echo = json.loads(body)
    assert echo["uri"] == f"https://localhost:{addr[1]}/echo?x=1"
    assert echo["protocol"] == "HTTP/1.1"
    assert echo["rawQuery"] == "x=1"


def test_plain_and_tls_listeners_share_one_pool(tls_servers: TlsServers, certs):
    server = tls_servers(http={"address": "127.0.0.1:0", "ssl": tls_servers.ssl()})
    tls = tls_address(server)
    assert server.addr != tls
    pids = set(server.pids())
    _, _, tls_body = call(https_get, tls, "/echo", client_context(certs))
    with socket.create_connection(server.addr, timeout=TIMEOUT) as sock:
        sock.sendall(b"GET /echo HTTP/1.1\r\nHost: plain\r\nConnection: close\r\n\r\n")
        plain = b""
        while chunk := call(sock.recv, 65536):
            plain += chunk
    plain_echo = json.loads(plain.partition(b"\r\n\r\n")[2])
    assert json.loads(tls_body)["pid"] in pids
    assert plain_echo["pid"] in pids
    assert plain_echo["uri"] == "http://plain/echo"


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")
def test_tls_1_1_is_refused_and_1_2_accepted(tls_servers: TlsServers, certs):
    server = tls_servers(http={"ssl": tls_servers.ssl()})
    addr = tls_address(server)
    old = client_context(certs, max_version=ssl.TLSVersion.TLSv1_1)
    old.minimum_version = ssl.TLSVersion.TLSv1
    old.set_ciphers("DEFAULT:@SECLEVEL=0")  # let this client really offer TLS 1.1
    with pytest.raises(ssl.SSLError) as info:
        call(https_get, addr, "/pid", old)
    # The server, not the client, refused: it answered the hello with a protocol_version alert.
    assert "PROTOCOL_VERSION" in str(info.value).upper() or "UNSUPPORTED" in str(info.value).upper()
    tls12 = client_context(certs, max_version=ssl.TLSVersion.TLSv1_2)
    assert call(https_get, addr, "/pid", tls12)[0] == 200


def test_tls_1_2_uses_forward_secret_aead_suites_only(tls_servers: TlsServers, certs):
    server = tls_servers(http={"ssl": tls_servers.ssl()})
    addr = tls_address(server)
    weak = client_context(certs, max_version=ssl.TLSVersion.TLSv1_2)
    weak.set_ciphers("AES128-SHA:AES256-SHA")  # RSA key exchange, CBC: not offered by us
    with pytest.raises(ssl.SSLError):
        call(https_get, addr, "/pid", weak)
    assert "ECDHE" in TLS12_CIPHERS


def test_a_plain_http_client_on_the_tls_port_is_closed_and_the_server_keeps_serving(
    tls_servers: TlsServers, certs
):
    server = tls_servers(http={"ssl": tls_servers.ssl()})
    addr = tls_address(server)

    def plain() -> bytes:
        with socket.create_connection(addr, timeout=TIMEOUT) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                return sock.recv(100)
            except ConnectionResetError:
                return b""

    assert not call(plain).startswith(b"HTTP/")
    assert call(https_get, addr, "/pid", client_context(certs))[0] == 200


def test_pipelined_requests_over_tls_are_answered_in_order(tls_servers: TlsServers, certs):
    server = tls_servers(http={"ssl": tls_servers.ssl()})
    addr = tls_address(server)

    def pipelined() -> bytes:
        return tls_exchange(
            addr,
            client_context(certs),
            b"GET /echo?n=1 HTTP/1.1\r\nHost: h\r\n\r\n"
            b"GET /echo?n=2 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        )

    data = call(pipelined)
    assert data.count(b"HTTP/1.1 200 OK") == 2
    assert data.index(b'"rawQuery": "n=1"') < data.index(b'"rawQuery": "n=2"')


def test_a_request_sent_while_the_previous_one_runs_is_answered_over_tls(
    tls_servers: TlsServers, certs
):
    """The second request arrives while the first is in the worker: the client_gone watcher
    decrypts it then (it must, to tell a close_notify from data), and it must still be served
    in order, not lost in the watcher's stash."""
    server = tls_servers(http={"ssl": tls_servers.ssl()})
    addr = tls_address(server)

    def overlapped() -> bytes:
        raw = socket.create_connection(addr, timeout=TIMEOUT)
        with client_context(certs).wrap_socket(raw, server_hostname="localhost") as sock:
            sock.sendall(b"GET /sleep?s=0.5 HTTP/1.1\r\nHost: h\r\n\r\n")
            time.sleep(0.2)  # the first request is in the worker now
            sock.sendall(b"GET /echo?n=2 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
            out = b""
            while chunk := sock.recv(65536):
                out += chunk
            return out

    data = call(overlapped)
    assert data.count(b"HTTP/1.1 200 OK") == 2
    assert b'"rawQuery": "n=2"' in data


def test_a_big_upload_over_tls(tls_servers: TlsServers, certs):
    server = tls_servers(http={"ssl": tls_servers.ssl()})
    addr = tls_address(server)
    body = bytes(range(256)) * 16 * 1024  # 4 MiB

    def upload() -> bytes:
        return tls_exchange(
            addr,
            client_context(certs),
            b"POST /digest HTTP/1.1\r\nHost: h\r\nConnection: close\r\n"
            b"Content-Type: application/octet-stream\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body,
        )

    answer = json.loads(call(upload).partition(b"\r\n\r\n")[2])
    assert answer["size"] == len(body)
    assert answer["sha256"] == hashlib.sha256(body).hexdigest()


def test_a_tls_client_leaving_mid_stream_stops_the_worker_stream(
    tls_servers: TlsServers, certs, short_tmp: Path
):
    """client_gone over TLS: the watcher decrypts (a TLS client sends close_notify first)."""
    server = tls_servers(http={"ssl": tls_servers.ssl()})
    addr = tls_address(server)
    marker = short_tmp / "stopped"

    def leave_early() -> bytes:
        ctx = client_context(certs)
        raw = socket.create_connection(addr, timeout=TIMEOUT)
        sock = ctx.wrap_socket(raw, server_hostname="localhost")
        sock.sendall(
            f"GET /stream?n=2000&delay=0.01&marker={marker} HTTP/1.1\r\nHost: h\r\n\r\n".encode()
        )
        first = sock.recv(4096)
        sock.close()  # close_notify, then FIN
        return first

    assert call(leave_early).startswith(b"HTTP/1.1 200")
    wait_for(lambda: marker.exists() and marker.read_text().startswith("stopped"), timeout=10)


def test_the_raw_php_worker_over_tls(tls_servers: TlsServers, certs):
    if not call(lambda: __import__("shutil").which("php")):
        pytest.skip("php-cli is not installed")
    php = f"php {REPO / 'examples' / 'php' / 'raw_worker.php'}"
    server = tls_servers(php, http={"ssl": tls_servers.ssl()}, pool={"num_workers": 1})
    addr = tls_address(server)
    status, _, body = call(https_get, addr, "/hello?x=1", client_context(certs))
    assert status == 200
    assert body.startswith(b"Hello from raw PHP")
    assert f"GET https://localhost:{addr[1]}/hello?x=1".encode() in body


def test_the_handshake_is_bounded_by_the_header_timeout(tls_servers: TlsServers, certs):
    server = tls_servers(http={"ssl": tls_servers.ssl(), "header_timeout": "1s"})
    addr = tls_address(server)

    def silent() -> float:
        started = time.monotonic()
        with socket.create_connection(addr, timeout=TIMEOUT) as sock:
            assert sock.recv(10) == b""  # closed by the server, never a hello from us
        return time.monotonic() - started

    assert 0.5 < call(silent) < 5


def test_a_key_that_is_not_the_certificates_fails_the_start_naming_both(
    tls_servers: TlsServers, certs
):
    from actors.system import StartupError

    ssl_cfg = tls_servers.ssl(key=str(certs / "client.key"))  # server.pem with alice's key
    with pytest.raises(StartupError) as info:
        tls_servers(http={"ssl": ssl_cfg})
    text = str(info.value)
    assert "client.key" in text and "server.pem" in text
    assert "the key must be the certificate's" in text


def test_error_answers_before_the_handler_work_over_tls(tls_servers: TlsServers, certs):
    """The HTTP/1.1 front's own answers (here 431) go through TLS too, then the close."""
    server = tls_servers(http={"ssl": tls_servers.ssl()}, pool={"num_workers": 1})
    execs = server.execs()
    status, _, _ = call(
        https_get,
        tls_address(server),
        "/echo",
        client_context(certs),
        b"X-Big: " + b"a" * 70_000 + b"\r\n",
    )
    assert status == 431
    assert server.execs() == execs


def test_failed_handshakes_leak_no_file_descriptors(tls_servers: TlsServers, certs):
    server = tls_servers(http={"ssl": tls_servers.ssl()}, pool={"num_workers": 1})
    addr = tls_address(server)
    strict = ssl.create_default_context(cafile=str(certs / "other_ca.pem"))  # distrusts us

    def fail_many() -> int:
        failures = 0
        for _ in range(20):
            with socket.create_connection(addr, timeout=TIMEOUT) as sock:
                sock.sendall(b"GET / HTTP/1.1\r\n\r\n")  # not TLS at all
                with contextlib.suppress(OSError):
                    sock.recv(100)
            with contextlib.suppress(ssl.SSLError, OSError):
                tls_exchange(addr, strict, b"GET / HTTP/1.1\r\n\r\n")
                continue
            failures += 1
        return failures

    call(fail_many)  # warm-up: lazily opened descriptors (the hub's threadpool, ...)
    before = len(os.listdir("/proc/self/fd"))
    assert call(fail_many) == 20
    wait_for(lambda: len(os.listdir("/proc/self/fd")) <= before, timeout=10)
    assert call(https_get, addr, "/pid", client_context(certs))[0] == 200


def test_an_idle_keep_alive_tls_connection_costs_no_cpu(tls_servers: TlsServers, certs):
    """The connection waits for decrypted bytes, not for a readable descriptor: a TLS record
    that holds no HTTP bytes (a 1.3 session ticket, a partial record) must not make the
    connection spin.  The server runs on this test's hub, so its CPU is this process's."""
    server = tls_servers(http={"ssl": tls_servers.ssl()})
    addr = tls_address(server)

    def idle_then_ask() -> tuple[float, bytes]:
        with (
            socket.create_connection(addr, timeout=TIMEOUT) as raw,
            client_context(certs).wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            tls.sendall(b"GET /echo HTTP/1.1\r\nHost: localhost\r\n\r\n")
            first = tls.recv(65536)
            assert first.startswith(b"HTTP/1.1 200"), first
            tls.sendall(b"GET /echo?again HTTP/1.1\r\nHost: localhost\r\n")  # half a request
            started = time.process_time()
            time.sleep(1.0)
            spent = time.process_time() - started
            tls.sendall(b"\r\n")
            return spent, tls.recv(65536)

    spent, second = call(idle_then_ask)
    assert second.startswith(b"HTTP/1.1 200"), second
    assert spent < 0.3, f"the server spun for {spent:.2f} s of CPU while the client was idle"
