"""One connection's fate never touches the others: answers that close, tcp.Close, a worker
dying mid-event, a client leaving, oversized input, and the per-server connection limit."""

from __future__ import annotations

import contextlib
import errno

import gevent
import pytest
from gevent import socket

from actors.system import ActorSystem, StartupError
from tests.support.hub import wait_for as wait_until
from tests.support.procs import alive
from tests.tcp.harness import Client, TcpHarness

MIB = 1024 * 1024


def uuid_of(client: Client) -> str:
    return client.ask(b"whoami\r\n").decode().split()[0]


def test_writeclose_and_close_close_only_their_connection(tcp: TcpHarness) -> None:
    tcp.start()
    quitter, closer, stayer = tcp.connect(), tcp.connect(), tcp.connect()
    uuids = [uuid_of(c) for c in (quitter, closer, stayer)]
    quitter.send(b"quit\r\n")
    closer.send(b"close\r\n")
    assert quitter.read_to_eof() == b"bye\r\n"  # WRITECLOSE: written, then closed
    assert closer.read_to_eof() == b""  # CLOSE: closed without a word
    assert stayer.ask(b"ping\r\n") == b"ping\r\n"
    wait_until(lambda: {f"CLOSE {uuids[0]}", f"CLOSE {uuids[1]}"} <= set(tcp.events()))
    assert f"CLOSE {uuids[2]}" not in tcp.events()


def test_continue_writes_nothing_and_reads_on(tcp: TcpHarness) -> None:
    tcp.start()
    client = tcp.connect()
    client.send(b"silent\r\n")
    # Wait for it to be handled: sent right away, both lines could arrive in one read,
    # and RoadRunner's framing would make them one message.
    wait_until(lambda: any(e.startswith("DATA") for e in tcp.events()))
    assert client.ask(b"after\r\n") == b"after\r\n"


def test_tcp_close_over_rpc(tcp: TcpHarness) -> None:
    tcp.start(rpc=True)
    victim, other = tcp.connect(), tcp.connect()
    victim_uuid = uuid_of(victim)
    assert tcp.rpc("tcp.Close", victim_uuid) is True
    assert victim.read_to_eof() == b""
    assert other.ask(b"alive\r\n") == b"alive\r\n"
    wait_until(lambda: f"CLOSE {victim_uuid}" in tcp.events())
    # An unknown (or already closed) uuid is not an error, as in RoadRunner.
    assert tcp.rpc("tcp.Close", victim_uuid) is True
    # informer and resetter know the tcp pool like any other.
    workers = tcp.rpc("informer.Workers", "tcp")["workers"]
    assert len(workers) == 2 and all(alive(w["pid"]) for w in workers)
    assert tcp.rpc("resetter.Reset", "tcp") is True
    assert other.ask(b"after reset\r\n") == b"after reset\r\n"


def test_a_worker_can_kick_another_connection(tcp: TcpHarness) -> None:
    """The chat's KICK runs tcp.Close from inside a worker (RR_RPC is set for it)."""
    tcp.start(app="chat", rpc=True, servers={"chat": {"addr": "127.0.0.1:0", "delimiter": "\n"}})
    admin, troll = tcp.connect("chat"), tcp.connect("chat")
    admin.recv_until(b"\n")
    troll_uuid = troll.recv_until(b"\n").decode().split()[1]
    assert admin.ask(f"KICK {troll_uuid}\n".encode(), b"\n") == b"KICKED\n"
    assert troll.read_to_eof() == b""
    wait_until(lambda: b"left" in admin.ask(b"HISTORY\n", b"END\n"))


def test_a_worker_killed_mid_event_closes_that_connection_only(tcp: TcpHarness) -> None:
    system = tcp.start()
    victim, other = tcp.connect(), tcp.connect()
    victim_uuid = uuid_of(victim)
    before = {w["pid"] for w in system.pools["tcp"].workers()}
    victim.send(b"die\r\n")
    # RoadRunner: an exec error closes the connection, without a CLOSE event.
    assert victim.read_to_eof() == b""
    assert other.ask(b"unaffected\r\n") == b"unaffected\r\n"
    wait_until(lambda: len(system.pools["tcp"].workers()) == 2)
    assert {w["pid"] for w in system.pools["tcp"].workers()} != before
    fresh = tcp.connect()
    assert fresh.ask(b"new\r\n") == b"new\r\n"
    gevent.sleep(0.2)
    assert f"CLOSE {victim_uuid}" not in tcp.events()


def test_a_client_that_leaves_while_waiting_frees_its_place(tcp: TcpHarness) -> None:
    tcp.start(num_workers=1)
    busy, leaver = tcp.connect(), tcp.connect()
    uuid_of(leaver)  # connected and served once
    leaver_uuid = tcp.events()[-1].split()[1]
    busy.send(b"sleep\r\n")  # holds the only worker for 1.5 s
    gevent.sleep(0.2)
    leaver.send(b"never run\r\n")  # waits for the worker...
    gevent.sleep(0.2)
    leaver.close()  # ...and its client goes away
    assert busy.recv_until(b"\r\n") == b"slept\r\n"
    wait_until(lambda: f"CLOSE {leaver_uuid}" in tcp.events())
    # The abandoned DATA event never reached a worker; its CLOSE did.
    data = [e for e in tcp.events() if e.startswith(f"DATA {leaver_uuid}")]
    assert data == [f"DATA {leaver_uuid} 8"], data


def test_a_client_that_leaves_before_connected_ran_is_never_heard_of(tcp: TcpHarness) -> None:
    tcp.start(num_workers=1)
    busy = tcp.connect()
    busy_uuid = uuid_of(busy)
    busy.send(b"sleep\r\n")
    gevent.sleep(0.2)
    ghost = tcp.connect()  # its CONNECTED waits for the only worker...
    gevent.sleep(0.2)
    ghost.close()  # ...and is given up: no worker hears of this connection at all
    assert busy.recv_until(b"\r\n") == b"slept\r\n"
    assert busy.ask(b"after\r\n") == b"after\r\n"
    gevent.sleep(0.3)
    assert {e.split()[1] for e in tcp.events()} == {busy_uuid}, tcp.events()


def test_an_unknown_answer_closes_the_connection(tcp: TcpHarness) -> None:
    tcp.start()
    client, other = tcp.connect(), tcp.connect()
    uuid = uuid_of(client)
    client.send(b"bogus\r\n")
    assert client.read_to_eof() == b""
    wait_until(lambda: f"CLOSE {uuid}" in tcp.events())
    assert other.ask(b"ok\r\n") == b"ok\r\n"


def test_events_of_one_connection_arrive_in_order(tcp: TcpHarness) -> None:
    tcp.start(num_workers=4)
    client = tcp.connect()
    uuid = uuid_of(client)
    for i in range(50):
        client.send(f"{i:04d}\r\n".encode())
        assert client.recv_until(b"\r\n") == f"{i:04d}\r\n".encode()
    client.close()
    wait_until(lambda: f"CLOSE {uuid}" in tcp.events())
    mine = [e for e in tcp.events() if uuid in e]
    assert mine[-1] == f"CLOSE {uuid}" and len(mine) == 52  # whoami, 50 messages, CLOSE


def test_a_message_longer_than_the_read_buffer_is_accumulated(tcp: TcpHarness) -> None:
    tcp.start()  # read_buf_size: 1 MiB
    client = tcp.connect()
    message = b"x" * (3 * MIB) + b"\r\n"
    client.send(message)
    assert client.recv_until(b"\r\n") == message


def test_10_mib_without_a_delimiter_is_cut_off(tcp: TcpHarness) -> None:
    """Pending bytes stop at max_message_size (8 MiB by default): the connection is closed
    and the worker gets CLOSE, never a 10 MiB DATA."""
    tcp.start()
    client = tcp.connect(timeout=30)
    other = tcp.connect()
    uuid = uuid_of(client)
    try:
        client.send(b"y" * (10 * MIB))
        assert client.read_to_eof() == b""
    except OSError as exc:  # the server closed while bytes were still unread: a reset
        assert exc.errno in (errno.ECONNRESET, errno.EPIPE), exc
    wait_until(lambda: f"CLOSE {uuid}" in tcp.events())
    assert [e for e in tcp.events() if e.startswith(f"DATA {uuid}")] == [f"DATA {uuid} 8"]
    assert other.ask(b"fine\r\n") == b"fine\r\n"


def test_max_message_size_is_configurable(tcp: TcpHarness) -> None:
    tcp.start(max_message_size=2)
    client = tcp.connect()
    uuid = uuid_of(client)
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        client.send(b"z" * (3 * MIB))
        assert client.read_to_eof() == b""
    wait_until(lambda: f"CLOSE {uuid}" in tcp.events())
    assert [e for e in tcp.events() if e.startswith(f"DATA {uuid}")] == [f"DATA {uuid} 8"]


def test_bytes_after_the_last_delimiter_are_delivered_at_eof(tcp: TcpHarness) -> None:
    tcp.start()
    client = tcp.connect()
    uuid = uuid_of(client)
    client.send(b"tail without delimiter")
    client.sock.shutdown(socket.SHUT_WR)
    assert client.read_to_eof() == b"tail without delimiter"
    wait_until(lambda: f"CLOSE {uuid}" in tcp.events())
    mine = [e for e in tcp.events() if uuid in e]
    assert mine[-2:] == [f"DATA {uuid} 22", f"CLOSE {uuid}"]


def test_a_read_shorter_than_the_delimiter_closes_the_connection(tcp: TcpHarness) -> None:
    tcp.start()
    client = tcp.connect()
    uuid = uuid_of(client)
    client.send(b"x")  # one byte, the delimiter is two: RoadRunner's error case
    assert client.read_to_eof() == b""
    wait_until(lambda: f"CLOSE {uuid}" in tcp.events())


def test_stream_answers_are_refused(tcp: TcpHarness) -> None:
    tcp.start()
    client, other = tcp.connect(), tcp.connect()
    client.send(b"stream\r\n")
    assert client.read_to_eof() == b""
    assert other.ask(b"ok\r\n") == b"ok\r\n"


def test_stream_mode_delivers_bytes_as_they_arrive(tcp: TcpHarness) -> None:
    tcp.start(servers={"raw": {"addr": "127.0.0.1:0", "stream": True}})
    client = tcp.connect("raw")
    client.send(b"a")  # one byte: fine without framing
    assert client.recv_until(b"a") == b"a"
    client.send(b"no delimiter at all")
    assert client.recv_until(b"all") == b"no delimiter at all"


def test_max_connections_refuses_the_one_too_many(tcp: TcpHarness) -> None:
    tcp.start(servers={"echo": {"addr": "127.0.0.1:0", "max_connections": 2}})
    first, second = tcp.connect(), tcp.connect()
    assert first.ask(b"1\r\n") == b"1\r\n" and second.ask(b"2\r\n") == b"2\r\n"
    third = tcp.connect()
    with pytest.raises(ConnectionResetError):
        third.ask(b"3\r\n")
    # Refused connections reach no worker.
    assert len([e for e in tcp.events() if e.startswith("DATA")]) == 2
    first.send(b"quit\r\n")
    first.read_to_eof()

    def fourth_accepted() -> bool:
        try:
            return tcp.connect().ask(b"4\r\n") == b"4\r\n"
        except ConnectionResetError:
            return False

    wait_until(fourth_accepted)


def test_stop_closes_every_connection(tcp: TcpHarness) -> None:
    system = tcp.start()
    clients = [tcp.connect() for _ in range(3)]
    uuids = [uuid_of(c) for c in clients]
    system.stop(timeout=5)
    for client in clients:
        assert client.read_to_eof() == b""
    events = tcp.events()
    assert all(f"CLOSE {u}" in events for u in uuids), events


def test_a_busy_address_is_a_startup_error_naming_the_key(tcp: TcpHarness) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        with pytest.raises(
            StartupError, match=rf"tcp\.servers\.echo\.addr: cannot listen on 127\.0\.0\.1:{port}"
        ):
            tcp.start(servers={"echo": {"addr": f"127.0.0.1:{port}"}})
    finally:
        taken.close()
    assert isinstance(tcp.systems[-1], ActorSystem) and not tcp.systems[-1].pools
