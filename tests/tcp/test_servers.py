"""An echo and a line-based chat server, with the Python SDK and a PHP-style worker,
on every relay: what RoadRunner's tcp plugin serves, byte for byte."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.hub import wait_for as wait_until
from tests.tcp.harness import PHP_WORKER, PY_WORKER, TcpHarness, needs_php

RELAYS = ["pipes", "tcp", "unix"]
WORKERS = [
    pytest.param(PY_WORKER, id="python"),
    pytest.param(PHP_WORKER, id="php", marks=needs_php),
]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@pytest.mark.parametrize("worker", WORKERS)
@pytest.mark.parametrize("relay", RELAYS)
def test_echo(tcp: TcpHarness, worker: list[str], relay: str) -> None:
    system = tcp.start(worker, relay=relay)
    assert system.pools["tcp"].workers(), "the tcp pool has workers"
    a, b = tcp.connect(), tcp.connect()
    for i in range(20):
        assert a.ask(f"hello {i}\r\n".encode()) == f"hello {i}\r\n".encode()
        assert b.ask(f"world {i}\r\n".encode()) == f"world {i}\r\n".encode()
    # The context the worker saw: a v4 uuid per connection, the peer's ip:port, the server name.
    uuid_a, addr_a, server = a.ask(b"whoami\r\n").decode().split()
    uuid_b, _, _ = b.ask(b"whoami\r\n").decode().split()
    assert UUID.fullmatch(uuid_a) and UUID.fullmatch(uuid_b) and uuid_a != uuid_b
    host, port = a.sock.getsockname()[:2]
    assert addr_a == f"{host}:{port}"
    assert server == "echo"
    assert a.ask(b"quit\r\n") == b"bye\r\n"
    assert a.read_to_eof() == b""
    assert b.ask(b"still here\r\n") == b"still here\r\n"
    # The CLOSE event reached a worker, with the uuid of the connection that ended.
    wait_until(lambda: f"CLOSE {uuid_a}" in tcp.events())


@pytest.mark.parametrize("worker", WORKERS)
@pytest.mark.parametrize("relay", RELAYS)
def test_chat(tcp: TcpHarness, worker: list[str], relay: str) -> None:
    tcp.start(
        worker,
        app="chat",
        relay=relay,
        servers={"chat": {"addr": "127.0.0.1:0", "delimiter": "\n"}},
    )
    alice, bob = tcp.connect("chat"), tcp.connect("chat")
    assert UUID.fullmatch(alice.recv_until(b"\n").decode().split()[1].strip())
    assert bob.recv_until(b"\n").startswith(b"HELLO ")
    assert alice.ask(b"NICK alice\n", b"\n") == b"OK\n"
    assert bob.ask(b"NICK bob\n", b"\n") == b"OK\n"
    assert alice.ask(b"SAY hi bob\n", b"\n") == b"OK\n"
    assert bob.ask(b"SAY hi alice\n", b"\n") == b"OK\n"
    assert alice.ask(b"QUIT\n", b"\n") == b"BYE\n"
    assert alice.read_to_eof() == b""

    def history() -> bytes:
        return bob.ask(b"HISTORY\n", b"END\n")

    wait_until(lambda: b"* alice left" in history())
    assert history() == b"alice: hi bob\nbob: hi alice\n* alice left\nEND\n"


def test_context_is_roadrunners_json(tcp: TcpHarness) -> None:
    """The context bytes are Go's json.Marshal of ServerInfo: this key order, compact."""
    from actors.plugins.tcp.events import event_contexts

    contexts = event_contexts("127.0.0.1:5000", "a<b", "u")
    assert contexts["DATA"] == (
        b'{"remote_addr":"127.0.0.1:5000","server":"a\\u003cb","uuid":"u","event":"DATA"}'
    )
    assert json.loads(contexts["CONNECTED"])["event"] == "CONNECTED"
    assert json.loads(contexts["CLOSE"])["event"] == "CLOSE"


def test_ipv6_remote_addr_is_bracketed(tcp: TcpHarness) -> None:
    """Go's net.TCPAddr.String(): ``[::1]:port``."""
    import socket

    try:
        probe = socket.socket(socket.AF_INET6)
        probe.bind(("::1", 0))
        probe.close()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    tcp.start(servers={"echo": {"addr": "[::1]:0"}})
    client = tcp.connect()
    _, addr, _ = client.ask(b"whoami\r\n").decode().split()
    host, port = client.sock.getsockname()[:2]
    assert addr == f"[{host}]:{port}"
