"""server.relay / RR_RELAY parsing: what RoadRunner and PHP both accept."""

from __future__ import annotations

import pytest

from relays.dsn import RelayAddress, parse_relay_dsn
from relays.errors import RelayDSNError, RelayError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("pipes", RelayAddress("pipes", raw="pipes")),
        (
            "tcp://127.0.0.1:6001",
            RelayAddress("tcp", host="127.0.0.1", port=6001, raw="tcp://127.0.0.1:6001"),
        ),
        (
            "tcp://localhost:0",
            RelayAddress("tcp", host="localhost", port=0, raw="tcp://localhost:0"),
        ),
        ("tcp://[::1]:6002", RelayAddress("tcp", host="::1", port=6002, raw="tcp://[::1]:6002")),
        (
            "tcp://0.0.0.0:65535",
            RelayAddress("tcp", host="0.0.0.0", port=65535, raw="tcp://0.0.0.0:65535"),
        ),
        (
            "unix:///var/run/rr.sock",
            RelayAddress("unix", path="/var/run/rr.sock", raw="unix:///var/run/rr.sock"),
        ),
        ("unix://rr.sock", RelayAddress("unix", path="rr.sock", raw="unix://rr.sock")),
        ("unix://run/rr.sock", RelayAddress("unix", path="run/rr.sock", raw="unix://run/rr.sock")),
    ],
)
def test_good(value: str, expected: RelayAddress) -> None:
    address = parse_relay_dsn(value)
    assert address == expected
    assert address.env_value == value
    assert str(address) == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "tcp//x",
            'invalid relay "tcp//x": expected pipes, tcp://host:port or unix:///path/to.sock',
        ),
        ("", 'invalid relay "": expected pipes'),
        ("pipe", "expected pipes, tcp://host:port or unix:///path/to.sock"),
        ("PIPES", "expected pipes"),
        ("http://127.0.0.1:80", "expected pipes, tcp://host:port"),
        ("pipes://stdin:stdout", "expected pipes"),
        ("tcp://:6001", "PHP workers cannot parse tcp://:port (write tcp://127.0.0.1:6001)"),
        ("tcp://127.0.0.1", "the port is missing"),
        ("tcp://127.0.0.1:", "the port is missing"),
        ("tcp://127.0.0.1:http", "port 'http' is not a number"),
        ("tcp://127.0.0.1:-1", "port '-1' is not a number"),
        ("tcp://127.0.0.1:65536", "port 65536 is out of range 0..65535"),
        ("tcp://::1:6001", "IPv6 addresses must be bracketed"),
        ("tcp://[::1:6001", "unterminated IPv6 address"),
        ("tcp://[::1]", "the port is missing"),
        ("tcp://[]:6001", "empty IPv6 address"),
        ("tcp://host/x:1", "expected pipes"),
        ("unix://", "the socket path is missing"),
    ],
)
def test_bad(value: str, message: str) -> None:
    with pytest.raises(RelayDSNError) as info:
        parse_relay_dsn(value)
    assert message in str(info.value)
    assert str(info.value).startswith(f'invalid relay "{value}": ')
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, RelayError)


def test_address_and_port_rewrite() -> None:
    tcp = parse_relay_dsn("tcp://127.0.0.1:0")
    assert tcp.address == ("127.0.0.1", 0)
    moved = tcp.with_port(43210)
    assert moved.address == ("127.0.0.1", 43210)
    assert moved.env_value == "tcp://127.0.0.1:43210"
    assert parse_relay_dsn(moved.env_value) == moved
    six = parse_relay_dsn("tcp://[::1]:0").with_port(5)
    assert six.env_value == "tcp://[::1]:5"
    assert parse_relay_dsn("unix:///tmp/a.sock").address == "/tmp/a.sock"
    with pytest.raises(ValueError, match="no socket address"):
        _ = parse_relay_dsn("pipes").address
    assert not parse_relay_dsn("pipes").is_socket
    assert parse_relay_dsn("unix://a.sock").is_socket
