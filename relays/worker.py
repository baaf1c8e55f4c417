"""The Python worker SDK: the counterpart of PHP's ``spiral/roadrunner-worker``.

A worker process creates one :class:`Worker`, then loops on
:meth:`Worker.wait_payload` until it returns ``None`` (the server asked it to
stop).  An echo worker, complete::

    from relays.worker import Worker

    worker = Worker.create()
    while (payload := worker.wait_payload()) is not None:
        try:
            worker.respond(payload)  # answers the same body and context
        except Exception as exc:  # the server logs it and keeps the worker
            worker.error(str(exc))

Standard library only, and no gevent: this module runs inside worker
processes, which must not pay for (or be changed by) the server's runtime.
The wire behaviour copies the PHP library byte for byte, so the server cannot
tell a Python worker from a PHP one.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import sys
import time
from collections import deque
from typing import Protocol

from relays.control import STOP_CONTEXT, pid_reply
from relays.dsn import RelayAddress, parse_relay_dsn
from relays.errors import ProtocolError, RelayError, StreamStopped
from relays.frame import (
    ERROR,
    PING,
    STREAM,
    Frame,
    FrameError,
    FrameReader,
    RelayClosedError,
    encode_data_frame,
    encode_frame,
)
from relays.payload import Payload

__all__ = ["STOP_CONTEXT", "Payload", "StreamStopped", "Worker"]


# PHP pings on every 5th frame of a stream sent over a blocking relay (pipes).
_PING_EVERY = 5
# Cap a single read: FrameReader asks for the whole remaining frame, and an 8 MiB
# read buffer per call would be allocated even when the pipe holds 64 KiB.
_MAX_READ = 1 << 20
# PHP's SocketRelay retries the connection this many times; we wait 100 ms between tries
# because a worker may start before the server's accept loop runs.
_CONNECT_RETRIES = 10
_CONNECT_PAUSE = 0.1


class _Transport(Protocol):
    kind: str

    def recv(self, n: int) -> bytes: ...

    def send(self, data: bytes) -> None: ...

    def readable(self) -> bool: ...

    def close(self) -> None: ...


class _PipeTransport:
    """Blocking reads on one fd, blocking writes on another (stdin/stdout or their dups)."""

    kind = "pipes"

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd = read_fd
        self.write_fd = write_fd

    def recv(self, n: int) -> bytes:
        return os.read(self.read_fd, min(n, _MAX_READ))

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.write_fd, view) :]

    def readable(self) -> bool:
        return bool(select.select([self.read_fd], [], [], 0)[0])

    def close(self) -> None:
        for fd in {self.read_fd, self.write_fd}:
            with contextlib.suppress(OSError):
                os.close(fd)


class _SocketTransport:
    """A connected tcp or unix socket."""

    def __init__(self, sock: socket.socket, kind: str) -> None:
        self.sock = sock
        self.kind = kind

    def recv(self, n: int) -> bytes:
        return self.sock.recv(min(n, _MAX_READ))

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def readable(self) -> bool:
        return bool(select.select([self.sock], [], [], 0)[0])

    def close(self) -> None:
        self.sock.close()


def _connect(address: RelayAddress) -> socket.socket:
    """Connect like PHP's SocketRelay: a few retries, because the listener may lag the spawn."""
    last: OSError | None = None
    for attempt in range(_CONNECT_RETRIES + 1):
        if attempt:
            time.sleep(_CONNECT_PAUSE)
        try:
            if address.kind == "unix":
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.connect(address.path)
                except OSError:
                    sock.close()
                    raise
                return sock
            sock = socket.create_connection((address.host, address.port))
            # Frames are small and request/response: Nagle would add 40 ms stalls.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except OSError as exc:
            last = exc
    raise RelayError(
        f"cannot connect to the relay {address.raw} (RR_RELAY) after "
        f"{_CONNECT_RETRIES + 1} attempts: {last}"
    )


def _intercept_stdio(keep_relay_fds: bool) -> tuple[int, int]:
    """Send everything written to stdout to stderr; on pipes, move the relay off fds 0/1 first.

    On the pipes relay stdout carries the responses, so any stray print (from
    the application, a library or C code writing to fd 1) would corrupt the
    protocol.  The relay keeps private duplicates; fd 1 becomes a copy of
    stderr and fd 0 reads /dev/null, so neither a print nor an ``input()``
    (or a debugger) can touch the frames.  On sockets stdout is not read by
    anyone, so sending it to stderr (which the server logs) is what makes the
    output visible, as PHP's StdoutHandler does.  Python-level output still
    sitting in the old ``sys.stdout`` buffer is flushed *after* the switch,
    which is why buffered prints made before :meth:`Worker.create` end up on
    stderr too.  Returns the relay's (read, write) descriptors, or (-1, -1).
    """
    relay_in = relay_out = -1
    if keep_relay_fds:
        relay_in = os.dup(0)
        relay_out = os.dup(1)
    os.dup2(2, 1)
    if keep_relay_fds:
        devnull = os.open(os.devnull, os.O_RDONLY)
        try:
            os.dup2(devnull, 0)
        finally:
            os.close(devnull)
    _redirect_sys_stdout()
    return relay_in, relay_out


def _redirect_sys_stdout() -> None:
    old = sys.stdout
    if sys.stderr is not None:
        sys.stdout = sys.stderr
    if old is not None and old is not sys.stdout:
        with contextlib.suppress(OSError, ValueError):
            old.flush()


def _is_stop_command(payload: bytes) -> bool:
    try:
        command = json.loads(payload)
    except ValueError:
        return False
    return isinstance(command, dict) and bool(command.get("stop"))


class Worker:
    """One worker's end of the relay.

    Not thread-safe: a worker serves one request at a time, like PHP's.
    """

    def __init__(self, transport: _Transport, address: RelayAddress | None = None) -> None:
        self._transport = transport
        self._reader = FrameReader(transport.recv)
        self.address = address
        self._pending: deque[Frame] = deque()
        self._in_stream = False
        self._frames_sent = 0
        self._should_ping = False
        self._waiting_pong = False
        self._stream_stopped = False
        self._closed = False

    @classmethod
    def create(cls, intercept_stdout: bool = True) -> Worker:
        """Connect to the server through ``RR_RELAY`` (default ``pipes``).

        With ``intercept_stdout`` (the default, as in PHP) anything the process
        writes to stdout afterwards goes to stderr, which the server logs; on
        the pipes relay this is what keeps a stray print from breaking the
        protocol.
        """
        address = parse_relay_dsn(os.environ.get("RR_RELAY") or "pipes")
        if address.kind == "pipes":
            if intercept_stdout:
                read_fd, write_fd = _intercept_stdio(keep_relay_fds=True)
            else:
                read_fd, write_fd = 0, 1
            return cls(_PipeTransport(read_fd, write_fd), address)
        transport = _SocketTransport(_connect(address), address.kind)
        if intercept_stdout:
            _intercept_stdio(keep_relay_fds=False)
        return cls(transport, address)

    @classmethod
    def from_fds(cls, read_fd: int, write_fd: int) -> Worker:
        """A pipes worker on explicit descriptors (embedding, tests)."""
        return cls(_PipeTransport(read_fd, write_fd), RelayAddress("pipes", raw="pipes"))

    @property
    def pid(self) -> int:
        """The pid reported in the handshake; the server matches socket relays by it."""
        return os.getpid()

    @property
    def relay_kind(self) -> str:
        """``pipes``, ``tcp`` or ``unix``."""
        return self._transport.kind

    # -- receiving ---------------------------------------------------------------------

    def _read(self) -> Frame:
        if self._pending:
            return self._pending.popleft()
        return self._reader.read_frame()

    def wait_payload(self) -> Payload | None:
        """Block until the next request; ``None`` means "stop and exit".

        Answers the server's pid requests on the way and skips stream
        leftovers (a late PONG or STOP), as PHP's ``waitPayload`` does.  Also
        returns ``None`` when the server closed the relay: there is nobody
        left to serve.
        """
        self._stream_stopped = False
        self._in_stream = False
        while True:
            try:
                frame = self._read()
            except RelayClosedError:
                return None
            # Classification order is PHP's PayloadFactory::fromFrame.
            if frame.is_control:
                if self._control(frame):
                    continue
                self._waiting_pong = False
                return None
            if frame.is_stop:
                continue
            if frame.is_pong:
                self._waiting_pong = False
                continue
            try:
                context, body = frame.split()
            except FrameError as exc:
                raise ProtocolError(
                    f"bad request frame from the server: {exc.reason}", frame.payload[:512]
                ) from exc
            return Payload(body, context, frame.flags)

    def _control(self, frame: Frame) -> bool:
        """Handle a control frame; return True to keep waiting, False on a stop command."""
        try:
            command = json.loads(frame.payload)
        except ValueError as exc:
            raise ProtocolError(
                f"Invalid task header, JSON payload is expected: {exc}", frame.payload[:512]
            ) from exc
        if not isinstance(command, dict):
            raise ProtocolError(
                "Invalid task header, JSON payload is expected: not an object",
                frame.payload[:512],
            )
        if command.get("stop"):
            return False
        if command.get("pid"):
            self._send(pid_reply())
            return True
        raise ProtocolError("Invalid task header, undefined control package", frame.payload[:512])

    # -- sending -----------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        self._transport.send(data)

    def respond(
        self,
        payload: Payload,
        end_of_stream: bool | None = None,
        codec: int | None = None,
    ) -> None:
        """Send a response, or one chunk of a streamed response.

        ``end_of_stream`` defaults to ``payload.end_of_stream``; pass False for
        every chunk but the last.  ``codec`` goes into the frame's flags byte
        (falling back to ``payload.flags``), like PHP's ``respond($p, $codec)``.

        During a stream this is also where a cancellation from the server is
        noticed: :class:`StreamStopped` is raised after the SDK has closed the
        stream itself, and later calls are ignored until the next
        :meth:`wait_payload`, so an application that keeps going cannot
        desynchronise the relay.
        """
        if self._stream_stopped:
            return
        eos = payload.end_of_stream if end_of_stream is None else end_of_stream
        flags = codec if codec is not None else (payload.flags or 0)
        byte10 = 0
        if not eos:
            if not self._in_stream:
                # PHP's withStreamMode(): a fresh count for each stream.
                self._in_stream = True
                self._frames_sent = 0
                self._should_ping = False
                self._waiting_pong = False
            if self._stop_requested():
                self._end_cancelled_stream()
            byte10 = STREAM
            if self._should_ping:
                byte10 |= PING
                self._should_ping = False
                self._waiting_pong = True
            self._frames_sent += 1
        elif self._in_stream:
            self._in_stream = False
        self._send(encode_data_frame(payload.context, payload.body, flags, byte10))

    def _stop_requested(self) -> bool:
        """PHP's ``getPayload(StreamStop::class)`` check, done before each stream chunk.

        On pipes (a blocking relay for PHP) the worker cannot peek, so it asks
        for a PONG every fifth frame and reads only while a PONG is owed; a
        STOP sent earlier is queued ahead of that PONG and is found then.  On
        sockets PHP polls without blocking before every chunk.
        """
        if self._transport.kind == "pipes":
            if self._waiting_pong:
                return self._read_until_pong()
            if self._frames_sent and self._frames_sent % _PING_EVERY == 0:
                self._should_ping = True
            return False
        while self._reader.buffered or self._transport.readable():
            if self._classify_in_stream(self._reader.read_frame()):
                return True
        return False

    def _read_until_pong(self) -> bool:
        while self._waiting_pong:
            # Straight from the relay: frames queued in _pending are not the PONG.
            if self._classify_in_stream(self._reader.read_frame()):
                return True
        return False

    def _classify_in_stream(self, frame: Frame) -> bool:
        """Return True when ``frame`` ends the stream (STOP, or a stop command)."""
        if frame.is_control:
            # Not sent mid-stream by RoadRunner; keep it for wait_payload, and stop
            # streaming if it is the stop command so the worker can honour it.
            self._pending.append(frame)
            return _is_stop_command(frame.payload)
        if frame.is_stop:
            return True
        if frame.is_pong:
            self._waiting_pong = False
            return False
        self._pending.append(frame)
        return False

    def _end_cancelled_stream(self) -> None:
        # The server discards frames until one without STREAM: close the stream for it.
        self._send(encode_data_frame(b"", b"", 0, 0))
        self._in_stream = False
        self._stream_stopped = True
        raise StreamStopped(
            "the server stopped this stream (usually the client went away); "
            "the stream was closed with an empty final frame"
        )

    def error(self, message: str) -> None:
        """Report a failed request; the server keeps this worker and returns the error.

        Ignored after :class:`StreamStopped` until the next :meth:`wait_payload`:
        the server is no longer waiting for an answer to that request.
        """
        if self._stream_stopped:
            return
        self._in_stream = False
        self._send(encode_frame(message.encode("utf-8", "surrogateescape"), ERROR))

    def stop(self) -> None:
        """Ask the server to replace this worker (after the current request).

        The server retries the request on another worker, then sends the stop
        command: keep looping on :meth:`wait_payload` until it returns ``None``.
        """
        self._send(encode_data_frame(STOP_CONTEXT, b""))

    def close(self) -> None:
        """Close the relay; the server sees EOF."""
        if not self._closed:
            self._closed = True
            self._transport.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
