"""``http.header_timeout``, ``http.min_body_rate``, ``http.max_connections``: defaults, values,
and errors that point at the bad value."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from actors.config import ConfigError, load_config
from tests.config.helpers import write
from tests.support.http_wire import read_all
from tests.support.hub import call

HEAD = 'version: "3"\nserver: {command: php w.php}\nhttp:\n  address: 127.0.0.1:8080\n'


def test_defaults(tmp_path: Path) -> None:
    http = load_config(write(tmp_path, HEAD), environ={}).http
    assert http is not None
    assert (http.header_timeout, http.min_body_rate, http.max_connections) == (10.0, 1024, 10_000)


def test_values(tmp_path: Path) -> None:
    text = HEAD + "  header_timeout: 2500ms\n  min_body_rate: 0\n  max_connections: 5\n"
    http = load_config(write(tmp_path, text), environ={}).http
    assert http is not None
    assert (http.header_timeout, http.min_body_rate, http.max_connections) == (2.5, 0, 5)


@pytest.mark.parametrize(
    ("line", "key", "expected"),
    [
        ("  header_timeout: soon\n", "http.header_timeout", ""),
        ("  min_body_rate: -1\n", "http.min_body_rate", "must not be negative"),
        ("  min_body_rate: fast\n", "http.min_body_rate", "expected an integer"),
        ("  max_connections: -5\n", "http.max_connections", "must not be negative"),
    ],
)
def test_bad_values_are_located(tmp_path: Path, line: str, key: str, expected: str) -> None:
    path = write(tmp_path, HEAD + line, name="bad.yaml")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    err = info.value
    assert err.key_path == key, str(err)
    assert err.line == 5, str(err)
    assert expected in err.message, str(err)


def test_the_keys_reach_the_http_server(servers) -> None:
    """End to end: a head trickled past ``http.header_timeout`` gets 408, and
    ``http.max_connections`` and ``http.min_body_rate`` are the server's."""
    server = servers(http={"header_timeout": "1s", "max_connections": 7, "min_body_rate": 10})
    front = server.plugin.server
    assert (front.max_connections, front.min_body_rate) == (7, 10)

    def slowloris() -> tuple[bytes, float]:
        with socket.create_connection(server.addr, timeout=10) as sock:
            started = time.monotonic()
            try:
                for byte in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: abcdefghij":  # <= 20 s
                    sock.sendall(bytes([byte]))
                    time.sleep(0.4)
                    if time.monotonic() - started > 3:
                        break
            except OSError:
                pass
            return read_all(sock, timeout=5), time.monotonic() - started

    data, elapsed = call(slowloris)
    assert data.startswith(b"HTTP/1.1 408 "), data[:80]
    assert elapsed < 4, elapsed
