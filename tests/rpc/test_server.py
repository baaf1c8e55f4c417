"""The RPC server over real tcp and unix sockets: codecs, pipelining, errors, robustness."""

from __future__ import annotations

import contextlib
import json
import random
import socket

import gevent
import msgpack
import pytest

from actors.rpc import RpcServer, ServiceRegistry
from relays.frame import (
    CODEC_GOB,
    CODEC_JSON,
    CODEC_MSGPACK,
    CODEC_PROTO,
    CODEC_RAW,
    ERROR,
    FrameReader,
    RelayClosedError,
    encode_frame,
)

from .conftest import connect, exchange, in_thread, reply_body, request

pytestmark = pytest.mark.timeout(60)


def _one(
    server: RpcServer, method: str, body: bytes, flags: int, seq: int = 1
) -> tuple[int, bytes]:
    (frame,) = in_thread(exchange, server.address, [request(seq, method, body, flags)], 1)
    assert frame.options == (seq, len(method.encode()))
    assert frame.payload.startswith(method.encode())
    return frame.flags, reply_body(frame)


def test_json_round_trip(server: RpcServer) -> None:
    flags, body = _one(server, "Demo.Dict", b'"http"', CODEC_JSON, seq=41)
    assert flags == CODEC_JSON
    assert json.loads(body) == {"workers": [{"pid": 1, "statusStr": "ready"}], "arg": "http"}


def test_raw_round_trip(server: RpcServer) -> None:
    assert _one(server, "Demo.Bytes", b"\x00\xff\x10", CODEC_RAW) == (CODEC_RAW, b"\x00\xff\x10")


def test_proto_passes_bytes_through(server: RpcServer) -> None:
    message = b"\x0a\x04http"  # status.v1 Request{plugin: "http"}
    assert _one(server, "Demo.Bytes", message, CODEC_PROTO) == (CODEC_PROTO, message)


def test_gob_request_gets_a_json_reply(server: RpcServer) -> None:
    # What `rr workers http` sends: a gob string; the Go client decodes by the reply's flag.
    flags, body = _one(server, "Demo.Echo", bytes.fromhex("070c000468747470"), CODEC_GOB)
    assert (flags, body) == (CODEC_JSON, b'"http"')
    flags, body = _one(server, "Demo.Echo", bytes.fromhex("03020001"), CODEC_GOB)
    assert (flags, body) == (CODEC_JSON, b"true")


def test_no_codec_flag_means_gob(server: RpcServer) -> None:
    assert _one(server, "Demo.Echo", bytes.fromhex("03020000"), 0) == (CODEC_JSON, b"false")


def test_msgpack_round_trip(server: RpcServer) -> None:
    flags, body = _one(server, "Demo.Dict", b"\xa4http", CODEC_MSGPACK)
    assert flags == CODEC_MSGPACK
    assert msgpack.unpackb(body) == {"workers": [{"pid": 1, "statusStr": "ready"}], "arg": "http"}
    flags, body = _one(server, "Demo.Echo", b"\xc1", CODEC_MSGPACK)  # 0xc1: never used
    assert flags == CODEC_MSGPACK | ERROR and b"msgpack: cannot decode" in body


def test_empty_argument_is_accepted(server: RpcServer) -> None:
    assert _one(server, "Demo.Echo", b"", CODEC_JSON) == (CODEC_JSON, b"null")


def test_pipelined_calls_are_answered_out_of_order(server: RpcServer) -> None:
    frames = [
        request(1, "Demo.Slow", b"null", CODEC_JSON),
        request(2, "Demo.Fast", b"null", CODEC_JSON),
    ]
    first, second = in_thread(exchange, server.address, frames, 2)
    assert (first.options[0], reply_body(first)) == (2, b'"fast"')
    assert (second.options[0], reply_body(second)) == (1, b'"slow"')


def test_errors_use_net_rpc_wording_and_the_connection_keeps_serving(server: RpcServer) -> None:
    frames = [
        request(1, "Nope.Echo", b"1", CODEC_JSON),
        request(2, "Demo.Nope", b"1", CODEC_JSON),
        request(3, "Demo.Fail", b'"foo"', CODEC_JSON),
        request(4, "Demo.Boom", b"null", CODEC_JSON),
        request(5, "Demo.Echo", b"{broken", CODEC_JSON),
        request(6, "Demo.Dict", b"", CODEC_RAW),
        request(7, "Demo.Echo", b"[7]", CODEC_JSON),
        request(8, "Demo.LeakTimeout", b"", CODEC_JSON),
    ]
    replies = {f.options[0]: f for f in in_thread(exchange, server.address, frames, 8)}
    expect = {
        1: b"rpc: can't find service Nope.Echo",
        2: b"rpc: can't find method Demo.Nope",
        3: b"no such plugin: foo",
        4: b"kaboom",
        8: b"0.1 seconds: timed out upstream",
    }
    for seq, text in expect.items():
        assert replies[seq].flags == CODEC_JSON | ERROR
        assert reply_body(replies[seq]) == text
    assert replies[5].flags & ERROR and b"json: cannot decode" in reply_body(replies[5])
    assert replies[6].flags == CODEC_RAW | ERROR
    assert reply_body(replies[6]).startswith(b"unknown Raw payload type")
    assert (replies[7].flags, reply_body(replies[7])) == (CODEC_JSON, b"[7]")


def _malformed_then_good(address: str, junk: bytes) -> tuple[bytes, bytes]:
    """Junk on one connection (read until the server closes it), a call on another."""
    with connect(address) as bad, connect(address) as good:
        bad.sendall(junk)
        leftover = b""
        while chunk := bad.recv(4096):
            leftover += chunk
        good.sendall(request(3, "Demo.Echo", b'"ok"', CODEC_JSON))
        frame = FrameReader(good.recv).read_frame()
        return leftover, reply_body(frame)


@pytest.mark.parametrize(
    "junk",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # not a frame: CRC mismatch
        encode_frame(b"Demo.Echo1", CODEC_JSON, 0, (1,)),  # one option only
        encode_frame(b"Demo.Echo", CODEC_JSON, 0, (1, 99)),  # method length past the payload
    ],
)
def test_malformed_frame_closes_only_its_connection(server: RpcServer, junk: bytes) -> None:
    leftover, body = in_thread(_malformed_then_good, server.address, junk)
    assert leftover == b""
    assert body == b'"ok"'


def test_calls_read_before_a_malformed_frame_still_get_replies(server: RpcServer) -> None:
    def scenario(address: str) -> list[int]:
        with connect(address) as sock:
            sock.sendall(request(1, "Demo.Sleep", b"0.1", CODEC_JSON) + b"junk junk junk")
            reader = FrameReader(sock.recv)
            seqs = [reader.read_frame().options[0]]
            assert sock.recv(10) == b""  # then the server closes
            return seqs

    assert in_thread(scenario, server.address) == [1]


def test_oversized_frame_is_refused_before_buffering(registry: ServiceRegistry) -> None:
    srv = RpcServer("tcp://127.0.0.1:0", registry, max_frame=1024)
    srv.start()
    try:

        def scenario(address: str) -> tuple[bytes, bytes]:
            with connect(address) as sock:
                # The header announces 2 KiB: the server must hang up without waiting for it.
                sock.sendall(request(1, "Demo.Echo", b'"' + b"x" * 2048 + b'"', CODEC_JSON)[:40])
                closed = sock.recv(10)
            with connect(address) as sock:
                sock.sendall(request(2, "Demo.Echo", b'"small"', CODEC_JSON))
                return closed, reply_body(FrameReader(sock.recv).read_frame())

        assert in_thread(scenario, srv.address) == (b"", b'"small"')
    finally:
        srv.stop()


def test_many_clients_at_once(server: RpcServer) -> None:
    def client(n: int) -> list[bytes]:
        frames = [
            request(i, "Demo.Echo", json.dumps([n, i]).encode(), CODEC_JSON) for i in range(1, 21)
        ]
        got = exchange(server.address, frames, 20)
        return [reply_body(f) for f in sorted(got, key=lambda f: f.options[0])]

    pool = gevent.get_hub().threadpool
    results = [pool.spawn(client, n) for n in range(8)]
    for n, result in enumerate(results):
        assert result.get(timeout=30) == [
            json.dumps([n, i], separators=(",", ":")).encode() for i in range(1, 21)
        ]


def test_stop_lets_calls_in_flight_answer_then_closes(server: RpcServer) -> None:
    def scenario(address: str) -> tuple[bytes, bytes]:
        with connect(address) as sock:
            sock.sendall(request(1, "Demo.Sleep", b"0.2", CODEC_JSON))
            reader = FrameReader(sock.recv)
            body = reply_body(reader.read_frame())
            return body, sock.recv(10)

    pending = gevent.get_hub().threadpool.spawn(scenario, server.address)
    gevent.sleep(0.1)
    server.stop(timeout=5)
    assert pending.get(timeout=10) == (b'"slept"', b"")


def test_stop_is_bounded_when_a_method_hangs(server: RpcServer) -> None:
    def scenario(address: str) -> bytes:
        with connect(address) as sock:
            sock.sendall(request(1, "Demo.Sleep", b"60", CODEC_JSON))
            return sock.recv(10)

    pending = gevent.get_hub().threadpool.spawn(scenario, server.address)
    gevent.sleep(0.2)
    with gevent.Timeout(5):
        server.stop(timeout=0.2)
    assert pending.get(timeout=10) == b""


def test_port_zero_reports_the_real_port(registry: ServiceRegistry) -> None:
    with RpcServer("tcp://127.0.0.1:0", registry) as server:
        host, port = server.address.removeprefix("tcp://").rsplit(":", 1)
        assert host == "127.0.0.1"
        assert int(port) > 0
        with socket.create_connection((host, int(port)), timeout=2):
            pass


def test_random_frames_never_hurt_the_server(server: RpcServer) -> None:
    """Well-formed frames with random flags, options and payloads: every one gets a reply or
    closes its own connection, and the server answers a good call afterwards."""
    rng = random.Random(8)

    def junk() -> bytes:
        options = tuple(rng.randrange(0, 40) for _ in range(rng.choice([0, 1, 2, 2, 2, 3])))
        payload = rng.choice([b"Demo.Echo", b"Demo.", b"x.Y", b""]) + rng.randbytes(
            rng.randrange(0, 30)
        )
        return encode_frame(payload, rng.randrange(256) & ~0x01, rng.randrange(256), options)

    def scenario(address: str) -> bytes:
        for _ in range(40):
            with connect(address) as sock:
                sock.sendall(junk())
                sock.shutdown(socket.SHUT_WR)  # the server answers what it read, then closes
                reader = FrameReader(sock.recv)
                with contextlib.suppress(RelayClosedError):
                    while True:
                        reader.read_frame()
        (frame,) = exchange(address, [request(1, "Demo.Echo", b'"alive"', CODEC_JSON)], 1)
        return reply_body(frame)

    assert in_thread(scenario, server.address) == b'"alive"'
