"""``http.header_timeout``, ``http.min_body_rate``, ``http.max_connections``: defaults, values,
and errors that point at the bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.config import ConfigError, load_config
from tests.config.helpers import write

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
