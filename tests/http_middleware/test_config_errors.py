"""Bad middleware settings: errors name the file, the line and the key, and say what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.config import ConfigError, load_config
from tests.config.helpers import write

HEAD = 'version: "3"\nserver: {command: x}\nhttp:\n  address: ":8080"\n'

BAD = [
    (
        "static-dir-missing",
        "  static:\n    dir: /no/such/dir\n",
        6,
        "http.static.dir",
        "does not exist",
    ),
    (
        "static-dir-is-a-file",
        "  static:\n    dir: {file}\n",
        6,
        "http.static.dir",
        "not a directory",
    ),
    (
        "static-unknown-key",
        "  static:\n    dri: x\n",
        6,
        "http.static.dri",
        "did you mean 'dir'",
    ),
    (
        "static-etag-not-bool",
        "  static:\n    calculate_etag: maybe\n",
        6,
        "http.static.calculate_etag",
        "expected a boolean",
    ),
    (
        "subnet-not-cidr",
        "  trusted_subnets: [10.0.0.0/8, 10.0.0/33]\n",
        5,
        "http.trusted_subnets[1]",
        "is not a subnet",
    ),
    (
        "cors-bad-regex",
        "  headers:\n    cors:\n      allowed_origin_regex: '(['\n",
        7,
        "http.headers.cors.allowed_origin_regex",
        "not a valid regular expression",
    ),
    (
        "cors-max-age-negative",
        "  headers:\n    cors:\n      max_age: -1\n",
        7,
        "http.headers.cors.max_age",
        "must not be negative",
    ),
    (
        "response-headers-not-a-map",
        "  headers:\n    response: [a, b]\n",
        6,
        "http.headers.response",
        "expected a map",
    ),
    (
        "header-with-newline",
        '  headers:\n    request: {"X-A": "a\\nb"}\n',
        6,
        "http.headers.request",
        "not a valid header",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "key_path", "expected"), [c[1:] for c in BAD], ids=[c[0] for c in BAD]
)
def test_bad_middleware_settings(
    tmp_path: Path, text: str, line: int, key_path: str, expected: str
) -> None:
    (tmp_path / "a-file").write_text("")
    path = write(tmp_path, HEAD + text.replace("{file}", str(tmp_path / "a-file")), name="bad.yaml")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    err = info.value
    assert err.file == str(path)
    assert (err.line, err.key_path) == (line, key_path), str(err)
    assert expected in err.message, str(err)
    assert str(err).startswith(f"{path}:{line}:"), str(err)
