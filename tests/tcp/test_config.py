"""The ``tcp`` section: RoadRunner's keys and defaults, Greenrunner's extensions, and
mistakes reported with file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.config import ConfigError, PoolConfig, TcpConfig, TcpServerConfig, load_config
from tests.config.helpers import write


def test_roadrunner_tcp_section(tmp_path: Path) -> None:
    # The shape of roadrunner-server/tcp's tests/configs/.rr-tcp-full.yaml.
    path = write(
        tmp_path,
        r"""
        version: "3"
        server:
          command: php ../../php_test_files/tcp.php
        tcp:
          servers:
            server1:
              addr: 127.0.0.1:7778
              delimiter: "\r\n"
            server2:
              addr: 127.0.0.1:8811
              read_buf_size: 10
            server3:
              addr: 127.0.0.1:8812
              delimiter: "\r\n"
          pool:
            num_workers: 5
            max_jobs: 0
            allocate_timeout: 60s
            destroy_timeout: 60s
        """.replace("              read_buf_size: 10\n", ""),
    )
    cfg = load_config(path, environ={})
    assert cfg.tcp is not None
    assert cfg.tcp.servers["server1"] == TcpServerConfig(
        name="server1", addr="127.0.0.1:7778", host="127.0.0.1", port=7778, delimiter=b"\r\n"
    )
    assert cfg.tcp.servers["server2"].delimiter == b"\r\n"  # RoadRunner's default
    assert cfg.tcp.pool.num_workers == 5
    assert cfg.tcp.read_buf_size == 1 and cfg.tcp.read_buf_bytes == 1024 * 1024
    assert cfg.tcp.max_message_bytes == 8 * 1024 * 1024


def test_extensions_and_units(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: "3"
        server: {command: php w.php}
        tcp:
          read_buf_size: 16
          max_message_size: 2
          servers:
            raw: {addr: ":9000", stream: true, max_connections: "100"}
            lines: {addr: "[::1]:9001", delimiter: "\\n"}
        """,
    )
    tcp = load_config(path, environ={}).tcp
    assert tcp is not None
    assert tcp.servers["raw"].stream and tcp.servers["raw"].max_connections == 100
    assert tcp.servers["raw"].addr == "0.0.0.0:9000"
    assert tcp.servers["lines"].host == "::1" and tcp.servers["lines"].delimiter == b"\n"
    # A pending message may always hold at least one read.
    assert tcp.max_message_bytes == tcp.read_buf_bytes == 16 * 1024 * 1024


def test_tcp_is_a_supported_section_now(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            'version: "3"\ntcp:\n  servers: {a: {addr: ":1"}}\n  pool:\n    command: php t.php\n',
        ),
        environ={},
    )
    assert cfg.tcp == TcpConfig(
        servers={"a": TcpServerConfig(name="a", addr="0.0.0.0:1", host="0.0.0.0", port=1)},
        pool=PoolConfig(command=["php", "t.php"]),
    )


BAD = [
    ("no-servers", "tcp:\n  pool: {}\n", 2, "tcp.servers", "no servers registered"),
    ("empty-servers", "tcp:\n  servers: {}\n", 3, "tcp.servers", "no servers registered"),
    ("servers-list", "tcp:\n  servers: [a]\n", 3, "tcp.servers", "expected a map of server name"),
    (
        "no-addr",
        "tcp:\n  servers:\n    s1:\n      delimiter: x\n",
        4,
        "tcp.servers.s1.addr",
        "empty address for the server",
    ),
    (
        "bad-addr",
        "tcp:\n  servers:\n    s1: {addr: nowhere}\n",
        4,
        "tcp.servers.s1.addr",
        "the port is missing",
    ),
    (
        "typo",
        "tcp:\n  servers:\n    s1: {addr: ':1', delimeter: x}\n",
        4,
        "tcp.servers.s1.delimeter",
        "'delimiter'?",
    ),
    (
        "buf-negative",
        "tcp:\n  read_buf_size: -1\n  servers: {s: {addr: ':1'}}\n",
        3,
        "tcp.read_buf_size",
        "must not be negative",
    ),
    (
        "no-command",
        "tcp:\n  servers: {s: {addr: ':1'}}\n",
        1,
        "server.command",
        "tcp.pool needs a worker command",
    ),
]


@pytest.mark.parametrize(("name", "text", "line", "key", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_tcp_section(
    tmp_path: Path, name: str, text: str, line: int, key: str, expected: str
) -> None:
    server = "" if name == "no-command" else "server: {command: php w.php}\n"
    path = write(tmp_path, 'version: "3"\n' + server + text, name="bad.yaml")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    err = info.value
    message = str(err)
    shift = 0 if name == "no-command" else 1  # the server line comes first
    assert (err.line, err.key_path) == (line + shift, key), message
    assert expected in err.message, message
