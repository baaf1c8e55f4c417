"""A small blocking HTTP/2 client on the ``h2`` library, for tests/http2 (run it in a thread
with ``tests.support.hub.call``: it blocks on a real socket).

It records everything a test checks per stream (1xx, head, DATA, trailers, end, reset) and
honours flow control both ways: uploads wait for WINDOW_UPDATE, downloads are acknowledged
as they arrive unless ``auto_ack=False`` (a slow reader, to prove the server waits).
"""

from __future__ import annotations

import socket
import ssl
import time
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.settings

TIMEOUT = 20.0


class Stream:
    """What one stream received."""

    def __init__(self) -> None:
        self.informational: list[tuple[int, dict[str, str]]] = []
        self.status = 0
        self.headers: dict[str, str] = {}
        self.data = bytearray()
        self.trailers: dict[str, str] = {}
        self.ended = False
        self.reset: int | None = None

    @property
    def done(self) -> bool:
        return self.ended or self.reset is not None


def _fields(headers: Any) -> tuple[int, dict[str, str]]:
    status = 0
    out: dict[str, str] = {}
    for name, value in headers:
        name, value = name.decode(), value.decode()
        if name == ":status":
            status = int(value)
        else:
            out[name] = value
    return status, out


class H2Client:
    """One HTTP/2 connection: TLS with ALPN h2 when ``tls`` is given, else h2c."""

    def __init__(
        self,
        addr: tuple[str, int],
        *,
        tls: ssl.SSLContext | None = None,
        settings: dict[int, int] | None = None,
        auto_ack: bool = True,
    ) -> None:
        sock = socket.create_connection(addr, timeout=TIMEOUT)
        if tls is not None:
            tls.set_alpn_protocols(["h2"])
            sock = tls.wrap_socket(sock, server_hostname="localhost")
            assert sock.selected_alpn_protocol() == "h2", sock.selected_alpn_protocol()
        self.sock = sock
        self.authority = f"localhost:{addr[1]}"
        self.scheme = "https" if tls is not None else "http"
        self.auto_ack = auto_ack
        config = h2.config.H2Configuration(client_side=True, header_encoding=None)
        self.conn = h2.connection.H2Connection(config=config)
        if settings:
            self.conn.local_settings = h2.settings.Settings(client=True, initial_values=settings)
        # No Huffman coding of our header blocks: pure Python, it takes seconds for the
        # 100 KB headers of the limit tests (the server decodes either way).
        encode = self.conn.encoder.encode
        self.conn.encoder.encode = lambda headers, huffman=True: encode(headers, huffman=False)
        self.conn.initiate_connection()
        self.streams: dict[int, Stream] = {}
        self.terminated: h2.events.ConnectionTerminated | None = None
        self.remote_settings_seen = False
        self._flush()

    def close(self) -> None:
        try:
            self.conn.close_connection()
            self._flush()
        except Exception:
            pass
        self.sock.close()

    def __enter__(self) -> H2Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests ------------------------------------------------------------------------------

    def start(
        self,
        method: str,
        path: str,
        headers: list[tuple[str, str]] | None = None,
        body: bytes | None = None,
    ) -> int:
        """Open a stream; send the body (waiting for window credit) and end it."""
        sid = self.conn.get_next_available_stream_id()
        block = [
            (b":method", method.encode()),
            (b":path", path.encode()),
            (b":scheme", self.scheme.encode()),
            (b":authority", self.authority.encode()),
        ] + [(n.lower().encode(), v.encode()) for n, v in headers or []]
        self.streams[sid] = Stream()
        self.conn.send_headers(sid, block, end_stream=not body)
        self._flush()
        if body:
            self.upload(sid, body)
        return sid

    def upload(self, sid: int, body: bytes) -> None:
        view = memoryview(body)
        while view:
            window = min(
                self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size
            )
            if self.streams[sid].done:
                return  # answered early (413) or reset
            if window <= 0:
                self.pump()
                continue
            self.conn.send_data(sid, view[:window].tobytes())
            view = view[window:]
            self._flush()
        self.conn.end_stream(sid)
        self._flush()

    def request(self, method: str, path: str, **kwargs: Any) -> Stream:
        sid = self.start(method, path, **kwargs)
        return self.wait(sid)

    def get(self, path: str) -> Stream:
        return self.request("GET", path)

    def wait(self, sid: int, timeout: float = TIMEOUT) -> Stream:
        deadline = time.monotonic() + timeout
        stream = self.streams[sid]
        while not stream.done:
            if time.monotonic() > deadline:
                raise TimeoutError(f"stream {sid} not done after {timeout}s")
            if not self.pump():
                break
        return stream

    def wait_all(self, sids: list[int], timeout: float = TIMEOUT) -> list[Stream]:
        return [self.wait(sid, timeout) for sid in sids]

    # -- the wire ------------------------------------------------------------------------------

    def pump(self) -> bool:
        """Read once and handle the events; False when the connection is gone."""
        try:
            data = self.sock.recv(65536)
        except (ConnectionError, ssl.SSLError):
            data = b""
        if not data:
            for stream in self.streams.values():
                if not stream.done:
                    stream.reset = -1
            return False
        for event in self.conn.receive_data(data):
            self._on(event)
        self._flush()
        return self.terminated is None

    def _on(self, event: Any) -> None:
        sid = getattr(event, "stream_id", None)
        stream = self.streams.get(sid) if sid else None
        if isinstance(event, h2.events.InformationalResponseReceived) and stream:
            stream.informational.append(_fields(event.headers))
        elif isinstance(event, h2.events.ResponseReceived) and stream:
            stream.status, stream.headers = _fields(event.headers)
        elif isinstance(event, h2.events.DataReceived) and stream:
            stream.data += event.data
            if self.auto_ack:
                self.conn.acknowledge_received_data(event.flow_controlled_length, sid)
        elif isinstance(event, h2.events.TrailersReceived) and stream:
            stream.trailers = _fields(event.headers)[1]
        elif isinstance(event, h2.events.StreamEnded) and stream:
            stream.ended = True
        elif isinstance(event, h2.events.StreamReset) and stream:
            stream.reset = int(event.error_code)
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            self.remote_settings_seen = True
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.terminated = event

    def _flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)
