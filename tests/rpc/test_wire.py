"""Request/reply frames byte for byte, codecs, and the registry's net/rpc wording."""

from __future__ import annotations

import pytest

from actors.rpc import CallError, ServiceRegistry
from actors.rpc.codecs import decode_argument, encode_result
from actors.rpc.errors import WireError
from actors.rpc.wire import decode_request, encode_error, encode_reply, pick_codec
from relays.frame import (
    CODEC_GOB,
    CODEC_JSON,
    CODEC_MSGPACK,
    CODEC_PROTO,
    CODEC_RAW,
    Frame,
    FrameReader,
    encode_frame,
)

from .conftest import Demo, request


def _read(data: bytes) -> Frame:
    chunks = [data]
    return FrameReader(lambda n: chunks.pop() if chunks else b"").read_frame()


def test_php_request_bytes_from_the_spec() -> None:
    data = request(1, "informer.Workers", b'"http"', CODEC_JSON)
    spec = "1508160000000971dba700000100000010000000"
    assert data == bytes.fromhex(spec) + b'informer.Workers"http"'
    req = decode_request(_read(data))
    assert (req.seq, req.method, req.codec, req.body) == (
        1,
        "informer.Workers",
        CODEC_JSON,
        b'"http"',
    )


def test_error_reply_bytes_from_the_spec() -> None:
    data = encode_error(7, b"resetter.Reset", CODEC_JSON, "no such plugin: foo")
    spec = "154821000000" + "58e9d492" + "0000" + "07000000" + "0e000000"
    assert data == bytes.fromhex(spec) + b"resetter.Resetno such plugin: foo"


def test_reply_echoes_sequence_and_method_length() -> None:
    frame = _read(encode_reply(9, b"Demo.Echo", CODEC_JSON, b"[1]"))
    assert frame.options == (9, 9)
    assert frame.flags == CODEC_JSON
    assert frame.payload == b"Demo.Echo[1]"


@pytest.mark.parametrize(
    ("flags", "codec"),
    [
        (0, CODEC_GOB),
        (CODEC_GOB, CODEC_GOB),
        (CODEC_PROTO | CODEC_JSON, CODEC_PROTO),
        (CODEC_JSON | CODEC_RAW | CODEC_GOB, CODEC_JSON),
        (CODEC_RAW | CODEC_MSGPACK, CODEC_RAW),
        (CODEC_MSGPACK | CODEC_GOB, CODEC_MSGPACK),
    ],
)
def test_codec_priority_is_goridges(flags: int, codec: int) -> None:
    assert pick_codec(flags) == codec


@pytest.mark.parametrize(
    ("options", "payload", "reason"),
    [
        ((), b"x", "should be 2 options"),
        ((1,), b"x", "should be 2 options"),
        ((1, 2, 3), b"x", "should be 2 options"),
        ((1, 10), b"Demo.Echo", "exceeds the payload length 9"),
    ],
)
def test_not_a_request(options: tuple[int, ...], payload: bytes, reason: str) -> None:
    with pytest.raises(WireError, match=reason):
        decode_request(_read(encode_frame(payload, CODEC_JSON, 0, options)))


def test_arguments_by_codec() -> None:
    assert decode_argument(CODEC_JSON, b'{"a":[1,2]}', "S.M") == {"a": [1, 2]}
    assert decode_argument(CODEC_RAW, b"\x00\x01", "S.M") == b"\x00\x01"
    assert decode_argument(CODEC_PROTO, b"\x0a\x04http", "S.M") == b"\x0a\x04http"
    assert decode_argument(CODEC_GOB, bytes.fromhex("070c000468747470"), "S.M") == "http"
    for codec in (CODEC_JSON, CODEC_RAW, CODEC_PROTO, CODEC_GOB, CODEC_MSGPACK):
        assert decode_argument(codec, b"", "S.M") is None
    with pytest.raises(CallError, match=r"json: cannot decode the argument of S\.M"):
        decode_argument(CODEC_JSON, b"{nope", "S.M")
    assert decode_argument(CODEC_MSGPACK, b"\x91\x01", "S.M") == [1]
    with pytest.raises(CallError, match=r"msgpack: cannot decode the argument of S\.M"):
        decode_argument(CODEC_MSGPACK, b"\xc1", "S.M")


def test_results_by_codec() -> None:
    assert encode_result(CODEC_JSON, {"k": "é"}, "S.M") == (CODEC_JSON, '{"k":"é"}'.encode())
    # Go marshals []byte as base64 text; gob requests get JSON replies.
    assert encode_result(CODEC_GOB, b"{}", "S.M") == (CODEC_JSON, b'"e30="')
    assert encode_result(CODEC_RAW, b"\xff", "S.M") == (CODEC_RAW, b"\xff")
    assert encode_result(CODEC_PROTO, bytearray(b"\x08\x01"), "S.M") == (CODEC_PROTO, b"\x08\x01")
    with pytest.raises(CallError, match=r"unknown Raw payload type: S\.M returned dict"):
        encode_result(CODEC_RAW, {}, "S.M")
    with pytest.raises(CallError, match=r"json: cannot encode the result of S\.M"):
        encode_result(CODEC_JSON, {1, 2}, "S.M")
    with pytest.raises(CallError, match="json: cannot encode"):
        encode_result(CODEC_JSON, float("nan"), "S.M")


def test_registry_lookup_and_net_rpc_wording() -> None:
    reg = ServiceRegistry()
    demo = Demo()
    reg.register("Demo", demo)
    assert reg.resolve("Demo.Echo")(5) == 5
    assert reg.resolve("Demo.AddWorker")("http") is True  # snake_case fallback
    for missing, text in [
        ("Nope.Echo", "rpc: can't find service Nope.Echo"),
        ("Demo.Nope", "rpc: can't find method Demo.Nope"),
        ("Demo.echo", "rpc: can't find method Demo.echo"),  # unexported, as in Go
        ("Demo._private", "rpc: can't find method Demo._private"),
        ("Demo.__class__", "rpc: can't find method Demo.__class__"),
        ("Demo.", "rpc: can't find method Demo."),
        ("DemoEcho", "rpc: service/method request ill-formed: DemoEcho"),
    ]:
        with pytest.raises(CallError) as info:
            reg.resolve(missing)
        assert str(info.value) == text
    with pytest.raises(ValueError, match="already registered"):
        reg.register("Demo", demo)
    with pytest.raises(ValueError, match="without dots"):
        reg.register("a.b", demo)
    assert reg.names() == ["Demo"]
    reg.unregister("Demo")
    with pytest.raises(CallError, match="can't find service"):
        reg.resolve("Demo.Echo")
