"""Bad configs: every error names the file, the line, the column and the key path,
and says what was expected."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from actors.config import ConfigError, load_config
from tests.config.helpers import write

# (id, yaml, line, key_path, text the message must contain)
BAD_FILES = [
    (
        "version-unquoted",
        'version: 3\nserver: {command: "php w.php"}\n',
        1,
        "version",
        'version should be a string: use version: "3"',
    ),
    (
        "version-missing",
        "server:\n  command: php w.php\n",
        1,
        "version",
        'the file needs version: "3"',
    ),
    (
        "version-unsupported",
        'version: "2.7"\n',
        1,
        "version",
        "unsupported config version '2.7'",
    ),
    (
        "duration-without-unit",
        """
        version: "3"
        server:
          command: php w.php
        http:
          address: :8080
          pool:
            allocate_timeout: "60"
        """,
        7,
        "http.pool.allocate_timeout",
        'write "60s"',
    ),
    (
        "duration-unknown-unit",
        'version: "3"\nserver:\n  command: php w.php\n  on_init:\n    command: x\n'
        "    exec_timeout: 10sec\n",
        6,
        "server.on_init.exec_timeout",
        "unknown unit 'sec'",
    ),
    (
        "duration-wrong-type",
        'version: "3"\nserver:\n  command: php w.php\n  relay_timeout: [1s]\n',
        4,
        "server.relay_timeout",
        "expected a duration",
    ),
    (
        "unknown-pool-key",
        """
        version: "3"
        server: {command: php w.php}
        http:
          address: :8080
          pool:
            num_worker: 4
        """,
        6,
        "http.pool.num_worker",
        "did you mean 'num_workers'?",
    ),
    (
        "too-many-workers",
        'version: "3"\nserver: {command: php w.php}\nhttp:\n  address: :80\n  pool:\n'
        "    num_workers: 501\n",
        6,
        "http.pool.num_workers",
        "number of workers can't be more than 500",
    ),
    (
        "num-workers-not-a-number",
        'version: "3"\nserver: {command: php w.php}\nhttp:\n  address: :80\n  pool:\n'
        "    num_workers: four\n",
        6,
        "http.pool.num_workers",
        "expected an integer, got 'four'",
    ),
    (
        "negative-max-jobs",
        'version: "3"\nserver: {command: php w.php}\nhttp:\n  address: :80\n  pool:\n'
        "    max_jobs: -1\n",
        6,
        "http.pool.max_jobs",
        "must not be negative, got -1",
    ),
    (
        "env-is-a-string",
        'version: "3"\nserver:\n  command: php w.php\n  env: "FOO=bar"\n',
        4,
        "server.env",
        "expected a map of NAME: value",
    ),
    (
        "env-list-item-not-a-map",
        'version: "3"\nserver:\n  command: php w.php\n  env:\n    - A: b\n    - just text\n',
        6,
        "server.env[1]",
        "expected a one-key map",
    ),
    (
        "env-bad-name",
        'version: "3"\nserver:\n  command: php w.php\n  env:\n    "BAD NAME": x\n',
        5,
        "server.env.BAD NAME",
        "invalid environment variable name",
    ),
    (
        "command-empty",
        'version: "3"\nserver:\n  user: www\n  command: ""\n',
        4,
        "server.command",
        "server.command should not be empty",
    ),
    (
        "command-null",
        'version: "3"\nserver:\n  command:\n',
        3,
        "server.command",
        "server.command should not be empty",
    ),
    (
        "command-unbalanced-quote",
        'version: "3"\nserver:\n  command: python -c "print(1)\n',
        3,
        "server.command",
        "No closing quotation",
    ),
    (
        "server-without-command",
        'version: "3"\nserver:\n  user: www\nhttp:\n  address: :8080\n',
        2,
        "server.command",
        "server.command should not be empty",
    ),
    (
        "http-without-server",
        'version: "3"\nhttp:\n  address: :8080\n',
        1,
        "server.command",
        "server.command should not be empty",
    ),
    (
        "on-init-without-command",
        'version: "3"\nserver:\n  command: php w.php\n  on_init:\n    exec_timeout: 5s\n',
        4,
        "server.on_init.command",
        "on_init command should not be empty",
    ),
    (
        "bad-relay-dsn",
        'version: "3"\nserver:\n  command: php w.php\n  relay: sockets\n',
        4,
        "server.relay",
        "expected pipes, tcp://host:port or unix:///path/to.sock",
    ),
    (
        "tcp-relay-without-host",
        'version: "3"\nserver:\n  command: php w.php\n  relay: "tcp://:6001"\n',
        4,
        "server.relay",
        "the host is missing",
    ),
    (
        "address-without-port",
        'version: "3"\nserver: {command: php w.php}\nhttp:\n  address: 127.0.0.1\n',
        4,
        "http.address",
        "the port is missing: expected host:port",
    ),
    (
        "address-port-out-of-range",
        'version: "3"\nserver: {command: php w.php}\nhttp:\n  address: "127.0.0.1:70000"\n',
        4,
        "http.address",
        "out of range",
    ),
    (
        "http-without-address",
        'version: "3"\nserver: {command: php w.php}\nhttp:\n  raw_body: true\n',
        3,
        "http.address",
        "http needs an address",
    ),
    (
        "internal-error-code-out-of-range",
        'version: "3"\nserver: {command: php w.php}\nhttp:\n  address: :80\n'
        "  internal_error_code: 42\n",
        5,
        "http.internal_error_code",
        "between 100 and 599",
    ),
    (
        "max-request-size-negative",
        'version: "3"\nserver: {command: php w.php}\nhttp:\n  address: :80\n'
        "  max_request_size: -5\n",
        5,
        "http.max_request_size",
        "must not be negative",
    ),
    (
        "logs-level-bogus",
        'version: "3"\nlogs:\n  mode: production\n  level: bogus\n',
        4,
        "logs.level",
        "expected one of debug, info, warn, error",
    ),
    (
        "logs-level-typo",
        'version: "3"\nlogs:\n  level: degub\n',
        3,
        "logs.level",
        "did you mean 'debug'?",
    ),
    (
        "logs-unknown-key",
        'version: "3"\nlogs:\n  levle: debug\n',
        3,
        "logs.levle",
        "did you mean 'level'?",
    ),
    (
        "logs-channel-bad-mode",
        'version: "3"\nlogs:\n  channels:\n    http:\n      mode: loud\n',
        5,
        "logs.channels.http.mode",
        "expected one of development, production",
    ),
    (
        "bad-bool",
        'version: "3"\nserver: {command: php w.php}\nhttp:\n  address: :80\n  raw_body: maybe\n',
        5,
        "http.raw_body",
        "expected a boolean (true or false), got 'maybe'",
    ),
    (
        "misspelt-top-level-section",
        'version: "3"\nserver: {command: php w.php}\nhtpp:\n  address: :80\n',
        3,
        "htpp",
        "did you mean 'http'?",
    ),
    (
        "section-is-a-list",
        'version: "3"\nserver: {command: php w.php}\nhttp:\n  address: :80\n  pool:\n'
        "    supervisor: [1, 2]\n",
        6,
        "http.pool.supervisor",
        "expected a map (key: value pairs), got a list",
    ),
    (
        "uploads-unknown-key",
        'version: "3"\nserver: {command: php w.php}\nhttp:\n  address: :80\n  uploads:\n'
        "    forbidden: [.php]\n",
        6,
        "http.uploads.forbidden",
        "did you mean 'forbid'?",
    ),
    (
        "middleware-is-a-map",
        'version: "3"\nserver: {command: php w.php}\nhttp:\n  address: :80\n'
        "  middleware: {gzip: true}\n",
        5,
        "http.middleware",
        "expected a list of strings, got a map",
    ),
    (
        "rpc-listen-bogus",
        'version: "3"\nrpc:\n  listen: 127.0.0.1:6001\n',
        3,
        "rpc.listen",
        "invalid relay",
    ),
    (
        "supervisor-memory-not-int",
        'version: "3"\nserver: {command: php w.php}\nhttp:\n  address: :80\n  pool:\n'
        "    supervisor:\n      max_worker_memory: 1.5GB\n",
        7,
        "http.pool.supervisor.max_worker_memory",
        "expected an integer, got '1.5GB'",
    ),
    (
        "user-is-a-map",
        'version: "3"\nserver:\n  command: php w.php\n  user: {name: www}\n',
        4,
        "server.user",
        "expected a string, got a map",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "key_path", "expected"),
    [case[1:] for case in BAD_FILES],
    ids=[case[0] for case in BAD_FILES],
)
def test_bad_file(tmp_path: Path, text: str, line: int, key_path: str, expected: str) -> None:
    path = write(tmp_path, text, name="bad.yaml")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    err = info.value
    message = str(err)
    assert err.file == str(path)
    assert err.line == line, message
    assert err.column is not None and err.column >= 1
    assert err.key_path == key_path, message
    assert expected in err.message, message
    assert message.startswith(f"{path}:{line}:{err.column}: {key_path}: "), message


def test_column_points_at_the_value(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'version: "3"\nserver: {command: php w.php}\nhttp:\n  address: :80\n  pool:\n'
        "    num_workers: four\n",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert (info.value.line, info.value.column) == (6, 18)


def test_unknown_key_points_at_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, 'version: "3"\nlogs:\n  mode: raw\n  colour: red\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert (info.value.line, info.value.column) == (4, 3)


def test_all_errors_are_reported_in_file_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: "3"
        server:
          command: php w.php
          relay: bogus
        http:
          address: :80
          raw_body: maybe
          pool:
            num_workers: 999
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    err = info.value
    assert [(e.line, e.key_path) for e in err.errors] == [
        (4, "server.relay"),
        (7, "http.raw_body"),
        (9, "http.pool.num_workers"),
    ]
    assert str(err).count("\n") == 2


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path, 'version: "3"\nhttp:\n  address: [1, 2\n  pool: {}\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    err = info.value
    assert err.file == str(path)
    assert err.line in (3, 4)
    assert "YAML syntax error" in err.message
    assert str(err).startswith(f"{path}:{err.line}:")


def test_yaml_bad_indentation(tmp_path: Path) -> None:
    path = write(tmp_path, 'version: "3"\nserver:\n  command: php\n   user: x\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert info.value.line == 4
    assert "YAML syntax error" in info.value.message


def test_duplicate_key(tmp_path: Path) -> None:
    path = write(tmp_path, 'version: "3"\nserver:\n  command: a\n  command: b\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert info.value.line == 4
    assert "duplicate key" in info.value.message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.file == str(path)
    assert "does not exist" in str(info.value)
    assert os.getcwd() in str(info.value)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match='version: "3"') as info:
        load_config(write(tmp_path, "# nothing\n"))
    assert info.value.line == 1


def test_top_level_list(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="expected a map of sections at the top level"):
        load_config(write(tmp_path, "- a\n- b\n"))


GOOD = 'version: "3"\nserver:\n  command: php w.php\nhttp:\n  address: :8080\n'


@pytest.mark.parametrize(
    "override",
    ["http.address", "=value", "http..address=1", "http.address=", ".x=1"],
)
def test_malformed_override(tmp_path: Path, override: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, GOOD), overrides=[override], environ={})
    assert override in str(info.value)
    assert "expected -o section.key=value" in info.value.message


def test_override_through_a_scalar(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, GOOD), overrides=["http.address.port=1"], environ={})
    assert info.value.key_path == "http.address.port"
    assert "http.address.port=1" in str(info.value)
    assert "not a map" in info.value.message


def test_override_with_a_bad_value_names_the_override(tmp_path: Path) -> None:
    override = "http.pool.num_workers=four"
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, GOOD), overrides=[override], environ={})
    err = info.value
    assert err.file == f"<-o {override}>"
    assert (err.line, err.column) == (1, len("http.pool.num_workers=") + 1)
    assert err.key_path == "http.pool.num_workers"
    assert "expected an integer, got 'four'" in err.message


def test_included_file_with_other_version(tmp_path: Path) -> None:
    write(tmp_path, 'version: "2.7"\nhttp: {address: ":1"}\n', name="inc.yaml")
    main = write(tmp_path, 'version: "3"\ninclude: [inc.yaml]\nserver: {command: php w}\n')
    with pytest.raises(ConfigError) as info:
        load_config(main, environ={})
    assert info.value.file is not None and info.value.file.endswith("inc.yaml")
    assert info.value.line == 1
    assert "version in included file must be the same as in root" in info.value.message


def test_missing_included_file(tmp_path: Path) -> None:
    main = write(tmp_path, 'version: "3"\ninclude: [gone.yaml]\n')
    with pytest.raises(ConfigError, match="does not exist") as info:
        load_config(main, environ={})
    assert info.value.file is not None and info.value.file.endswith("gone.yaml")
