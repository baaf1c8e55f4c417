"""relays.http.HttpWorker in a real worker process, driven over real pipes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from relays.frame import CODEC_JSON, CODEC_PROTO, encode_data_frame
from relays.http import decode_proto_request, encode_proto_response
from tests.support.hub import wait_for

from .worker_process import WorkerProcess, context

# http.v1 protobuf (python-protobuf):
# Request{remote_addr:"127.0.0.1", protocol:"HTTP/1.1", method:"GET",
#   uri:"http://localhost:8080/?a=1", header:{"User-Agent":["curl/8.0"]}, raw_query:"a=1"}
PROTO_REQUEST = bytes.fromhex(
    "0a09 31 32 37 2e 30 2e 30 2e 31 12 08 48 54 54 50 2f 31 2e 31 1a 03 47 45 54 22 1a 68 74"
    "74 70 3a 2f 2f 6c 6f 63 61 6c 68 6f 73 74 3a 38 30 38 30 2f 3f 61 3d 31 2a 18 0a 0a 55 73"
    "65 72 2d 41 67 65 6e 74 12 0a 0a 08 63 75 72 6c 2f 38 2e 30 3a 03 61 3d 31"
)
PROTO_200 = bytes.fromhex("08c801121c0a0c436f6e74656e742d54797065120c0a0a746578742f706c61696e")


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[WorkerProcess]:
    proc = WorkerProcess(["-m", "tests.sdk.sdk_worker"], tmp_path / "stderr.log")
    try:
        proc.handshake()
        yield proc
    finally:
        proc.close()


def test_proto_vectors_roundtrip() -> None:
    assert len(PROTO_REQUEST) == 85
    ctx = decode_proto_request(PROTO_REQUEST)
    assert ctx["remoteAddr"] == "127.0.0.1" and ctx["protocol"] == "HTTP/1.1"
    assert ctx["uri"] == "http://localhost:8080/?a=1" and ctx["rawQuery"] == "a=1"
    assert ctx["headers"] == {"User-Agent": ["curl/8.0"]}
    assert encode_proto_response(200, {"Content-Type": ["text/plain"]}) == PROTO_200
    assert encode_proto_response(404, {}) == bytes.fromhex("089403")


def test_json_request_decoded(worker: WorkerProcess) -> None:
    ctx = context(
        "POST",
        "/echo",
        query="a=1&a=2&b",
        headers={
            "User-Agent": ["pytest"],
            "Content-Type": ["application/json"],
        },
        cookies={"sid": "x y"},
    )
    ctx["attributes"] = {"ipAddress": "10.0.0.9"}
    reply = worker.request(ctx, b'{"k":1}')
    assert len(reply.frames) == 1 and not reply.final.is_stream
    assert reply.final.flags == CODEC_JSON
    assert reply.status == 200 and reply.headers == {"Content-Type": ["application/json"]}
    seen = json.loads(reply.body)
    assert seen["method"] == "POST" and seen["path"] == "/echo"
    assert seen["uri"] == "http://localhost:8080/echo?a=1&a=2&b"
    assert seen["query"] == "a=1&a=2&b"
    assert seen["query_params"] == {"a": ["1", "2"], "b": [""]}
    assert seen["user_agent"] == "pytest"
    assert seen["cookies"] == {"sid": "x y"}
    assert seen["remote_addr"] == "127.0.0.1" and seen["protocol"] == "HTTP/1.1"
    assert seen["body"] == '{"k":1}' and seen["parsed"] is None
    assert seen["uploads"] == {} and seen["attributes"] == {"ipAddress": "10.0.0.9"}


def test_parsed_form_request(worker: WorkerProcess) -> None:
    ctx = context(
        "POST",
        "/echo",
        parsed=True,
        uploads={
            "f": {"name": "a.txt", "mime": "text/plain", "size": 1, "error": 0, "tmpName": "/tmp/x"}
        },
    )
    seen = json.loads(worker.request(ctx, b'{"a":{"b":"1"}}').body)
    assert seen["parsed"] == {"a": {"b": "1"}}
    assert seen["uploads"]["f"]["tmpName"] == "/tmp/x"
    # parsed but empty body: treated as {} (PHP does the same)
    assert json.loads(worker.request(context("POST", "/echo", parsed=True)).body)["parsed"] == {}


def test_proto_request_gets_proto_reply(worker: WorkerProcess) -> None:
    reply = worker.request(PROTO_REQUEST, b"", flags=CODEC_PROTO)
    assert reply.final.flags == CODEC_PROTO
    ctx_bytes, body = reply.final.split()
    from actors.plugins.http.context.response import (
        parse_response_context as _parse_response_context,
    )

    def parse_response_context(flags, ctx):
        status, headers = _parse_response_context(flags, ctx)
        return status, list(headers)

    assert parse_response_context(reply.final.flags, ctx_bytes) == (
        200,
        [("Content-Type", "application/json")],
    )
    seen = json.loads(body)
    assert seen["headers"] == {"User-Agent": ["curl/8.0"]} and seen["query"] == "a=1"
    # and back to JSON on the next request (the codec follows each request)
    assert worker.request(context(path="/echo")).final.flags == CODEC_JSON


def test_early_hints(worker: WorkerProcess) -> None:
    reply = worker.request(context(path="/early"))
    assert len(reply.frames) == 2
    hint, final = reply.frames
    assert hint.is_stream and hint.split() == (
        b'{"status":103,"headers":{"Link":["</s.css>; rel=preload"]}}',
        b"",
    )
    assert not final.is_stream and final.split() == (
        b'{"status":200,"headers":{"Content-Type":["text/plain"]}}',
        b"final",
    )


def test_error_frame(worker: WorkerProcess) -> None:
    reply = worker.request(context(path="/error"))
    assert reply.final.is_error and reply.final.payload == b"application said no"
    assert worker.request(context(path="/echo")).status == 200


def test_generator_failure_closes_stream(worker: WorkerProcess) -> None:
    reply = worker.request(context(path="/gen-fail"))
    assert [f.is_stream for f in reply.frames] == [True, False]
    assert reply.chunks == [b"first;", b""]
    assert not any(f.is_error for f in reply.frames)
    # written after the closing frame: wait for it
    assert wait_for(lambda: "error after the response was started" in worker.stderr())
    # the relay is still in step
    assert worker.request(context(path="/echo")).status == 200


def test_stream_of_str_chunks(worker: WorkerProcess) -> None:
    reply = worker.request(context(path="/stream-str"))
    assert reply.chunks == [b"a", b"b", b""]
    assert all(
        json.loads(f.split()[0]) == {"status": 200, "headers": {"X": ["y"]}} for f in reply.frames
    )


def test_empty_payload_terminates(worker: WorkerProcess) -> None:
    worker.send(encode_data_frame(b"", b""))
    assert worker.wait() == 0
