"""The Python SDK and the PHP-style worker answer with the same bytes on the relay.

Each worker process is driven directly over its pipes, as the server would:
the pid handshake, then tcp events; the answer frames are compared byte for
byte with what ``spiral/roadrunner-tcp`` sends (``Worker::respond(new
Payload($body, $word))``: flags ``CODEC_RAW``, the word as the header part).
"""

from __future__ import annotations

import os
import subprocess

import pytest

from actors.plugins.tcp.events import event_contexts
from relays.frame import (
    CODEC_JSON,
    CODEC_RAW,
    CONTROL,
    FrameReader,
    encode_data_frame,
    encode_frame,
)
from tests.tcp.harness import PHP_WORKER, PY_WORKER, needs_php

CONTEXTS = event_contexts("127.0.0.1:40000", "echo", "0f8fad5b-d9cb-469f-a165-70867728950e")

#: (event, body) sent → (word, body) expected back.
EXCHANGES = [
    (("CONNECTED", b""), (b"CONTINUE", b"")),
    (("DATA", b"hello\r\n"), (b"WRITE", b"hello\r\n")),
    (("DATA", b"\x00\xff binary \r\n"), (b"WRITE", b"\x00\xff binary \r\n")),
    (
        ("DATA", b"whoami\r\n"),
        (b"WRITE", b"0f8fad5b-d9cb-469f-a165-70867728950e 127.0.0.1:40000 echo\r\n"),
    ),
    (("DATA", b"close\r\n"), (b"CLOSE", b"")),
    (("DATA", b"quit\r\n"), (b"WRITECLOSE", b"bye\r\n")),
    (("CLOSE", b""), (b"CLOSE", b"")),
]


def answers(command: list[str]) -> list[bytes]:
    """Raw answer frames of one worker process to EXCHANGES."""
    env = dict(os.environ, RR_RELAY="pipes", RR_MODE="tcp", TCP_APP="echo", TCP_LOG="")
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    assert proc.stdin is not None and proc.stdout is not None
    fd = proc.stdout.fileno()
    raw: list[bytes] = []
    reader = FrameReader(lambda n: os.read(fd, n))
    try:
        proc.stdin.write(encode_frame(b'{"pid":1}', CONTROL | CODEC_JSON))
        proc.stdin.flush()
        assert reader.read_frame().is_control
        for (event, body), _ in EXCHANGES:
            proc.stdin.write(encode_data_frame(CONTEXTS[event], body))
            proc.stdin.flush()
            raw.append(reader.read_frame().encode())
        proc.stdin.write(encode_frame(b'{"stop":true}', CONTROL | CODEC_JSON))
        proc.stdin.close()
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()
    return raw


@pytest.mark.parametrize(
    "command",
    [pytest.param(PY_WORKER, id="python"), pytest.param(PHP_WORKER, id="php", marks=needs_php)],
)
def test_answers_are_roadrunner_tcp_bytes(command: list[str]) -> None:
    expected = [encode_data_frame(word, body, CODEC_RAW) for _, (word, body) in EXCHANGES]
    assert answers(command) == expected
