"""The server relays against the Python worker SDK in real processes, on every relay."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time

import gevent
import pytest

from actors.system import ActorSystem, StartupError
from relays.control import STOP_COMMAND, STOP_CONTEXT, STREAM_STOP_FRAME
from relays.errors import ProtocolError, RelayTimeoutError, StdoutCorruptionError
from relays.frame import (
    CODEC_JSON,
    CODEC_PROTO,
    CONTROL,
    PING,
    STREAM,
    Frame,
    RelayClosedError,
    encode_data_frame,
    encode_frame,
)
from relays.server.handshake import handshake
from relays.server.pipe import PipeRelay
from tests.support.relay_harness import RelayHarness, exec_frame, read_stream, ticking
from tests.support.workers import REPO, inline_cmd, worker_cmd

pytestmark = pytest.mark.timeout(60)

MiB = 1 << 20


def test_handshake_and_pid(relay_harness: RelayHarness) -> None:
    worker = relay_harness.spawn("pid")
    assert worker.relay is not None
    assert worker.relay.pid == worker.proc.pid
    assert worker.relay.kind == relay_harness.kind
    answer = exec_frame(worker.relay, b"", b"")
    assert int(answer.split()[1]) == worker.proc.pid


def test_handshake_frame_is_rr_style(relay_harness: RelayHarness) -> None:
    # A second handshake on a live relay: same answer, worker keeps going.
    worker = relay_harness.spawn("echo")
    assert worker.relay is not None
    assert handshake(worker.relay, 5) == worker.proc.pid
    assert exec_frame(worker.relay, b"c", b"b").split() == (b"c", b"b")


def test_echo_small(relay_harness: RelayHarness) -> None:
    relay = relay_harness.spawn("echo").relay
    assert relay is not None
    for i in range(20):
        frame = exec_frame(relay, b'{"a":%d}' % i, b"hello %d" % i, CODEC_JSON)
        assert frame.split() == (b'{"a":%d}' % i, b"hello %d" % i)
        assert frame.flags == CODEC_JSON
        assert frame.byte10 == 0
        assert frame.options == (len(b'{"a":%d}' % i),)


def test_echo_empty_context_and_body(relay_harness: RelayHarness) -> None:
    relay = relay_harness.spawn("echo").relay
    assert relay is not None
    assert exec_frame(relay, b"", b"body only").split() == (b"", b"body only")
    assert exec_frame(relay, b"context only", b"").split() == (b"context only", b"")
    empty = exec_frame(relay, b"", b"", CODEC_PROTO)
    assert empty.split() == (b"", b"")
    assert empty.encode() == encode_data_frame(b"", b"", CODEC_PROTO)


def test_eight_mib_both_ways(relay_harness: RelayHarness) -> None:
    relay = relay_harness.spawn("echo").relay
    assert relay is not None
    body = os.urandom(8 * MiB + 3)
    context = json.dumps({"k": "v" * 4096}).encode()
    with ticking() as ticks:
        frame = exec_frame(relay, context, body)
    context_back, body_back = frame.split()
    assert context_back == context
    assert body_back == body
    assert ticks[0] > 0, "the hub was blocked during the transfer"


def test_error_frame(relay_harness: RelayHarness) -> None:
    relay = relay_harness.spawn("error").relay
    assert relay is not None
    frame = exec_frame(relay, b"", b"request 1")
    assert frame.is_error
    assert frame.options == ()
    assert frame.payload == b"boom from python: request 1"
    # A soft error: the same worker serves the next request.
    assert exec_frame(relay, b"", b"request 2").payload.endswith(b"request 2")


def test_stream_with_ping_pong(relay_harness: RelayHarness) -> None:
    relay = relay_harness.spawn("stream").relay
    assert relay is not None
    for _ in range(2):  # the count restarts with every stream
        relay.send(encode_data_frame(b"", b"20"))
        frames = read_stream(relay)
        assert len(frames) == 21
        chunks, final = frames[:-1], frames[-1]
        assert all(f.is_stream for f in chunks)
        assert [f.split()[1] for f in chunks] == [b"chunk-%d" % i for i in range(20)]
        assert chunks[0].split()[0] == b"HDR"
        assert all(f.options == (0,) for f in chunks[1:])
        pinged = [i for i, f in enumerate(chunks) if f.is_ping]
        # PHP pings only on blocking relays (pipes); on sockets it polls instead.
        assert pinged == ([5, 10, 15] if relay_harness.kind == "pipes" else [])
        assert all(f.byte10 == STREAM | PING for f in chunks if f.is_ping)
        assert final.byte10 == 0
        assert final.split() == (b"", b"done")


def test_stream_cancel(relay_harness: RelayHarness) -> None:
    worker = relay_harness.spawn("stream")
    relay = worker.relay
    assert relay is not None
    context = b'{"delay":0.02}' if relay_harness.kind != "pipes" else b""
    relay.send(encode_data_frame(context, b"20"))

    def stop_after_third(index: int, frame: Frame) -> None:
        if index == 2:
            relay.send(STREAM_STOP_FRAME)

    frames = read_stream(relay, stop_after_third)
    final = frames[-1]
    assert final.byte10 == 0
    assert final.options == (0,)
    assert final.payload == b""
    chunks = frames[:-1]
    assert all(f.is_stream for f in chunks)
    if relay_harness.kind == "pipes":
        # Over pipes the worker only reads while it owes a PONG: it notices the STOP at
        # the check before chunk 6, right after the PING on chunk 5 (as PHP does).
        assert len(chunks) == 6
        assert chunks[5].is_ping
    else:
        assert 3 <= len(chunks) < 20
    # The worker is still in sync: a leftover PONG or STOP is skipped.
    relay.send(encode_data_frame(b"", b"1"))
    again = read_stream(relay)
    assert [f.split()[1] for f in again] == [b"chunk-0", b"done"]
    relay.send(STOP_COMMAND)
    assert worker.wait() == 0
    assert "stream stopped before chunk" in worker.stderr()


def test_stop_command_exits_zero(relay_harness: RelayHarness) -> None:
    worker = relay_harness.spawn("echo")
    assert worker.relay is not None
    exec_frame(worker.relay, b"", b"x")
    worker.relay.send(STOP_COMMAND)
    assert worker.wait() == 0


def test_relay_eof_ends_the_worker_cleanly(relay_harness: RelayHarness) -> None:
    worker = relay_harness.spawn("echo")
    assert worker.relay is not None
    worker.relay.close()
    assert worker.wait() == 0


def test_worker_side_stop(relay_harness: RelayHarness) -> None:
    worker = relay_harness.spawn("stopper")
    relay = worker.relay
    assert relay is not None
    frame = exec_frame(relay, b"ctx", b"first")
    assert frame.encode() == encode_data_frame(STOP_CONTEXT, b"")
    assert frame.split() == (b'{"stop":true}', b"")
    # It keeps looping until the server's stop command.
    assert exec_frame(relay, b"ctx", b"second").split() == (b"ctx", b"second")
    relay.send(STOP_COMMAND)
    assert worker.wait() == 0


def test_output_after_create_goes_to_stderr(relay_harness: RelayHarness) -> None:
    worker = relay_harness.spawn("noisy")
    assert worker.relay is not None
    for i in range(3):
        assert exec_frame(worker.relay, b"", b"%d" % i).split() == (b"", b"%d" % i)
    worker.relay.send(STOP_COMMAND)
    assert worker.wait() == 0
    err = worker.stderr()
    for text in ("noise from print()", "noise from sys.stdout", "noise from os.write(1)"):
        assert err.count(text) == 3


def test_print_before_create(relay_harness: RelayHarness) -> None:
    worker = relay_harness.launch(worker_cmd("junk_stdout"))
    if relay_harness.kind != "pipes":
        # stdout is not the relay on sockets: the same worker just works.
        relay = relay_harness.connect(worker)
        assert exec_frame(relay, b"", b"ok").split() == (b"", b"ok")
        return
    started = time.monotonic()
    with pytest.raises(StdoutCorruptionError) as info:
        relay_harness.connect(worker, timeout=10)
    assert time.monotonic() - started < 5
    message = str(info.value)
    assert "hello from the junk worker: this line is not a frame" in message
    assert f"pid {worker.proc.pid}" in message
    assert "junk_stdout.py" in message
    assert "stdout" in message and "stderr" in message
    assert info.value.received.startswith(b"hello from the junk worker")


def test_crash_on_request(relay_harness: RelayHarness) -> None:
    worker = relay_harness.spawn("crash")
    assert worker.relay is not None
    worker.relay.send(encode_data_frame(b"", b"die"))
    with pytest.raises(RelayClosedError):
        worker.relay.receive()
    assert worker.wait() == 1


def test_close_wakes_a_blocked_reader(relay_harness: RelayHarness) -> None:
    worker = relay_harness.spawn("sleep")
    relay = worker.relay
    assert relay is not None
    relay.send(encode_data_frame(b"", b"30"))
    reader = gevent.spawn(relay.receive)
    gevent.sleep(0.2)
    started = time.monotonic()
    relay.close()
    with pytest.raises(RelayClosedError):
        reader.get(timeout=2)
    assert time.monotonic() - started < 1
    with pytest.raises(RelayClosedError):
        relay.send(b"x")


def test_unknown_control_frame_fails_the_worker(relay_harness: RelayHarness) -> None:
    worker = relay_harness.spawn("echo")
    assert worker.relay is not None
    worker.relay.send(encode_frame(b'{"what":1}', CONTROL))
    assert worker.wait() != 0
    assert "Invalid task header, undefined control package" in worker.stderr()


def test_pipes_handshake_timeout(pipes_relay_harness: RelayHarness) -> None:
    worker = pipes_relay_harness.launch(inline_cmd("import time; time.sleep(30)"))
    started = time.monotonic()
    with pytest.raises(RelayTimeoutError, match=r"did not answer the pid handshake within 0\.5s"):
        pipes_relay_harness.connect(worker, timeout=0.5)
    assert time.monotonic() - started < 2


def test_pipes_answer_without_control_flag(pipes_relay_harness: RelayHarness) -> None:
    code = (
        f"import os, sys; sys.path.insert(0, {str(REPO)!r})\n"
        "from relays.frame import encode_data_frame\n"
        "os.read(0, 25)\n"
        "os.write(1, encode_data_frame(b'', b'{\"pid\":1}'))\n"
        "import time; time.sleep(30)\n"
    )
    worker = pipes_relay_harness.launch(inline_cmd(code))
    with pytest.raises(ProtocolError, match="no CONTROL flag"):
        pipes_relay_harness.connect(worker)


def test_pipes_could_not_open_input_file(pipes_relay_harness: RelayHarness) -> None:
    code = (
        "import sys; sys.stdout.write('Could not open input file: /nope/worker.php\\n'); "
        "sys.exit(1)"
    )
    worker = pipes_relay_harness.launch(inline_cmd(code))
    with pytest.raises(ProtocolError) as info:
        pipes_relay_harness.connect(worker)
    assert not isinstance(info.value, StdoutCorruptionError)
    assert "Could not open input file: /nope/worker.php" in str(info.value)


def test_pipes_worker_exits_before_handshake(pipes_relay_harness: RelayHarness) -> None:
    worker = pipes_relay_harness.launch(worker_cmd("failboot"))
    with pytest.raises(RelayClosedError):
        pipes_relay_harness.connect(worker)
    assert worker.wait() == 1
    assert "failboot: this worker is broken on purpose" in worker.stderr()


def test_many_workers_concurrently(relay_harness: RelayHarness) -> None:
    workers = [relay_harness.launch(worker_cmd("echo")) for _ in range(4)]
    relays = gevent.joinall(
        [gevent.spawn(relay_harness.connect, w) for w in workers], raise_error=True
    )
    assert len(relays) == 4

    def run(index: int) -> None:
        relay = workers[index].relay
        assert relay is not None
        for i in range(50):
            body = b"%d-%d" % (index, i) * 1000
            assert exec_frame(relay, b"c", body).split() == (b"c", body)

    gevent.joinall([gevent.spawn(run, i) for i in range(4)], raise_error=True)


def _sdk_script(body: str) -> list[str]:
    return inline_cmd(
        f"import sys; sys.path.insert(0, {str(REPO)!r})\n"
        "from relays import Payload, Worker\n"
        "from relays.frame import CODEC_PROTO\n" + body
    )


def test_sdk_codec_and_payload_end_of_stream(relay_harness: RelayHarness) -> None:
    worker = relay_harness.launch(
        _sdk_script(
            "w = Worker.create()\n"
            "while (p := w.wait_payload()) is not None:\n"
            "    w.respond(Payload(b'part', b'ctx', end_of_stream=False), codec=CODEC_PROTO)\n"
            "    w.respond(Payload(b'last', flags=CODEC_PROTO))\n"
        )
    )
    relay = relay_harness.connect(worker)
    relay.send(encode_data_frame(b"", b""))
    first, last = read_stream(relay)
    assert first.encode() == encode_data_frame(b"ctx", b"part", CODEC_PROTO, STREAM)
    assert last.encode() == encode_data_frame(b"", b"last", CODEC_PROTO)


def test_buffered_print_before_create_is_diverted(pipes_relay_harness: RelayHarness) -> None:
    # Not flushed before Worker.create(): the SDK flushes it to stderr, not to the relay.
    # (With PYTHONUNBUFFERED, common in containers, it would already be on the relay.)
    worker = pipes_relay_harness.launch(
        env={"PYTHONUNBUFFERED": ""},
        argv=_sdk_script(
            "print('buffered before create')\n"
            "w = Worker.create()\n"
            "while (p := w.wait_payload()) is not None:\n"
            "    w.respond(p)\n"
        ),
    )
    relay = pipes_relay_harness.connect(worker)
    assert exec_frame(relay, b"", b"fine").split() == (b"", b"fine")
    relay.send(STOP_COMMAND)
    assert worker.wait() == 0
    assert "buffered before create" in worker.stderr()


def test_failed_handshake_closes_the_relay() -> None:
    """Whoever calls handshake() gets the error, not a relay to clean up: a pipes relay holds
    duplicated descriptors, and a pool that keeps failing to spawn must not leak them."""
    to_worker_r, to_worker_w = os.pipe()
    from_worker_r, from_worker_w = os.pipe()
    relay = PipeRelay(from_worker_r, to_worker_w, pid=1, command="junk")
    relay.drain_timeout = relay.drain_quiet = 0.05
    os.write(from_worker_w, b"this is not a goridge frame at all\n")
    try:
        with pytest.raises(ProtocolError):
            handshake(relay, timeout=2)
        assert relay.closed
    finally:
        relay.close()
        for fd in (to_worker_r, to_worker_w, from_worker_r, from_worker_w):
            os.close(fd)


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_failed_pipes_spawns_leak_no_descriptors() -> None:
    def attempt() -> None:
        system = ActorSystem.from_dict(
            {
                "server": {"command": worker_cmd("junk_stdout")},
                "http": {"address": "127.0.0.1:0", "pool": {"num_workers": 2}},
                "logs": {"level": "error", "mode": "off"},
            }
        )
        with pytest.raises(StartupError):
            system.start()

    attempt()  # warm up: imports, the hub's own descriptors, logging
    gc.collect()
    before = _open_fds()
    for _ in range(3):
        attempt()
    gc.collect()
    assert _open_fds() - before < 4, "descriptors leaked by failed spawns"


def test_pipe_relay_that_cannot_dup_leaks_nothing() -> None:
    """Under fd pressure (EMFILE), when the second dup() fails the first one is closed again."""
    code = """
import os, resource
import gevent
from relays.server.pipe import PipeRelay
gevent.get_hub()  # libev's own descriptors first
r, w = os.pipe()
before = len(os.listdir('/proc/self/fd'))
probe = os.dup(0)  # the lowest free descriptor
os.close(probe)
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (probe + 1, hard))  # room for one dup() only
try:
    PipeRelay(r, w, pid=1)
except OSError as exc:
    print('failed', exc.errno)
resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
print('leaked', len(os.listdir('/proc/self/fd')) - before)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=30
    )
    assert "failed 24" in out.stdout, out.stdout + out.stderr
    assert "leaked 0" in out.stdout, out.stdout + out.stderr
