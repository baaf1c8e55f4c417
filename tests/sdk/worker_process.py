"""Drive a real worker process over the pipes relay with blocking reads and writes.

No mocks: the test plays the server's side of goridge with :mod:`relays.frame`
while the worker runs the real SDK in its own process.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relays.frame import (
    CODEC_JSON,
    CONTROL,
    PONG,
    STOP,
    Frame,
    FrameReader,
    encode_data_frame,
    encode_frame,
)
from tests.support.workers import REPO


@dataclass
class Reply:
    """Every frame the worker sent for one request, and their decoded parts."""

    frames: list[Frame]

    @property
    def final(self) -> Frame:
        return self.frames[-1]

    @property
    def context(self) -> dict[str, Any]:
        return json.loads(self.frames[0].split()[0])

    @property
    def status(self) -> int:
        return self.context["status"]

    @property
    def headers(self) -> dict[str, list[str]]:
        return self.context["headers"]

    @property
    def chunks(self) -> list[bytes]:
        return [f.split()[1] for f in self.frames if not f.is_error]

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


class WorkerProcess:
    """A worker started with ``RR_RELAY=pipes``; stderr goes to a file to inspect later."""

    def __init__(self, args: list[str], stderr_path: Path, timeout: float = 20.0) -> None:
        self.stderr_path = stderr_path
        self.timeout = timeout
        self._stderr = open(stderr_path, "wb")  # noqa: SIM115 - closed in close()
        env = dict(
            os.environ, RR_RELAY="pipes", RR_MODE="http", PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1"
        )
        self.proc = subprocess.Popen(
            [sys.executable, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=REPO,
            env=env,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in = self.proc.stdin.fileno()
        self._out = self.proc.stdout.fileno()
        self.reader = FrameReader(self._recv)
        self.pongs = 0

    def _recv(self, n: int) -> bytes:
        ready, _, _ = select.select([self._out], [], [], self.timeout)
        if not ready:
            raise TimeoutError(f"worker sent nothing for {self.timeout}s; stderr: {self.stderr()}")
        return os.read(self._out, n)

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._in, view) :]

    def handshake(self) -> int:
        self.send(encode_frame(b'{"pid":1}', CONTROL | CODEC_JSON))
        frame = self.reader.read_frame()
        assert frame.is_control, frame
        pid = json.loads(frame.payload)["pid"]
        assert pid == self.proc.pid
        return pid

    def read_reply(self, stop_after: int | None = None) -> Reply:
        """Read frames until one without STREAM; answer PINGs; optionally send STOP."""
        frames: list[Frame] = []
        stopped = False
        while True:
            frame = self.reader.read_frame()
            frames.append(frame)
            if frame.is_ping:
                self.pongs += 1
                self.send(encode_frame(b"", 0, PONG))
            if stop_after is not None and not stopped and len(frames) >= stop_after:
                stopped = True
                self.send(encode_frame(b"", 0, STOP))
            if not frame.is_stream:
                return Reply(frames)

    def request(
        self,
        context: dict[str, Any] | bytes,
        body: bytes = b"",
        flags: int = CODEC_JSON,
        stop_after: int | None = None,
    ) -> Reply:
        ctx = context if isinstance(context, bytes) else json.dumps(context).encode()
        self.send(encode_data_frame(ctx, body, flags))
        return self.read_reply(stop_after)

    def stderr(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def wait(self, timeout: float = 10.0) -> int:
        return self.proc.wait(timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send(encode_frame(b'{"stop":true}', CONTROL | CODEC_JSON))
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()
        self._stderr.close()


def context(
    method: str = "GET",
    path: str = "/",
    *,
    query: str = "",
    headers: dict[str, list[str]] | None = None,
    parsed: bool = False,
    uploads: Any = None,
    cookies: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A JSON request context like the server builds."""
    uri = f"http://localhost:8080{path}" + (f"?{query}" if query else "")
    return {
        "remoteAddr": "127.0.0.1",
        "protocol": "HTTP/1.1",
        "method": method,
        "uri": uri,
        "headers": headers or {},
        "cookies": cookies or {},
        "rawQuery": query,
        "parsed": parsed,
        "uploads": uploads,
        "attributes": {},
    }
