"""Valid configs load into the right dataclass values (defaults included)."""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
from pathlib import Path

import pytest

from actors.config import (
    Config,
    ConfigError,
    DynamicAllocatorConfig,
    HttpConfig,
    LogChannelConfig,
    LogsConfig,
    OnInitConfig,
    PoolConfig,
    RpcConfig,
    ServerConfig,
    SupervisorConfig,
    UploadsConfig,
    config_from_dict,
    load_config,
    parse_pool_config,
)
from tests.config.helpers import write

CPUS = os.cpu_count() or 1


def test_minimal_config_gets_every_default(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: "3"
        server:
          command: "php worker.php"
        http:
          address: 127.0.0.1:8080
        """,
    )
    cfg = load_config(path, environ={})
    assert isinstance(cfg, Config)
    assert cfg.version == "3"
    assert cfg.path == str(path)
    assert cfg.server == ServerConfig(
        command=["php", "worker.php"],
        user="",
        group="",
        env={},
        relay="pipes",
        relay_timeout=60.0,
        on_init=None,
    )
    assert cfg.http == HttpConfig(
        address="127.0.0.1:8080",
        host="127.0.0.1",
        port=8080,
        pool=PoolConfig(
            command=None,
            num_workers=CPUS,
            max_jobs=0,
            max_queue_size=0,
            allocate_timeout=60.0,
            reset_timeout=60.0,
            destroy_timeout=60.0,
            stream_timeout=60.0,
            debug=False,
            supervisor=None,
            dynamic_allocator=None,
        ),
        max_request_size=1000,
        internal_error_code=500,
        raw_body=False,
        access_logs=False,
        uploads=UploadsConfig(dir=tempfile.gettempdir(), forbid=[], allow=[]),
        middleware=[],
    )
    assert cfg.logs == LogsConfig(
        level="info",
        mode="production",
        encoding="json",
        output=["stderr"],
        err_output=["stderr"],
        channels={},
    )
    assert cfg.rpc is None
    assert cfg.raw["http"] == {"address": "127.0.0.1:8080"}


def test_full_config(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: "3"
        rpc:
          listen: tcp://127.0.0.1:6002
        server:
          command: ["python", "-m", "app.worker"]
          user: www
          group: www
          relay: unix:///tmp/gr.sock
          relay_timeout: 10s
          env:
            app_env: prod
            Debug: true
            WORKERS: 4
            EMPTY:
          on_init:
            command: "python manage.py migrate"
            exec_timeout: 1m30s
            user: root
            exit_on_error: true
            env:
              - stage: init
        logs:
          level: warning
          mode: development
          encoding: json
          output: [stdout, /var/log/gr.log]
          err_output: stderr
          line_ending: "\\r\\n"
          channels:
            http:
              level: debug
              output: stdout
            server: {mode: raw}
        http:
          address: tcp://[::1]:9000
          max_request_size: 16
          internal_error_code: 502
          raw_body: true
          access_logs: "true"
          middleware: [gzip, headers]
          uploads:
            dir: /srv/uploads
            forbid: [".PHP", exe, " .Sh "]
            allow: [png]
          pool:
            command: "python other.py"
            num_workers: 3
            max_jobs: 100
            max_queue_size: 50
            allocate_timeout: 500ms
            reset_timeout: 2h
            destroy_timeout: 1.5s
            stream_timeout: 300us
            debug: false
            supervisor:
              watch_tick: 1s
              ttl: 10m
              idle_ttl: 30s
              max_worker_memory: 128
              exec_ttl: 250ms
            dynamic_allocator:
              max_workers: 20
              spawn_rate: 2
              idle_timeout: 10s
        """,
    )
    cfg = load_config(path, environ={})
    server = cfg.server
    assert server is not None
    assert server.command == ["python", "-m", "app.worker"]
    assert (server.user, server.group) == ("www", "www")
    assert server.relay == "unix:///tmp/gr.sock"
    assert server.relay_timeout == 10.0
    assert server.env == {"APP_ENV": "prod", "DEBUG": "true", "WORKERS": "4", "EMPTY": ""}
    assert server.on_init == OnInitConfig(
        command=["python", "manage.py", "migrate"],
        exec_timeout=90.0,
        env={"STAGE": "init"},
        user="root",
        exit_on_error=True,
    )
    assert cfg.rpc == RpcConfig(listen="tcp://127.0.0.1:6002")
    assert cfg.logs.level == "warn"
    assert cfg.logs.mode == "development"
    assert cfg.logs.encoding == "json"
    assert cfg.logs.output == ["stdout", "/var/log/gr.log"]
    assert cfg.logs.err_output == ["stderr"]
    assert cfg.logs.line_ending == "\r\n"
    assert cfg.logs.channels == {
        "http": LogChannelConfig(level="debug", output=["stdout"]),
        "server": LogChannelConfig(mode="raw"),
    }
    http = cfg.http
    assert http is not None
    assert (http.address, http.host, http.port) == ("[::1]:9000", "::1", 9000)
    assert http.max_request_size == 16
    assert http.internal_error_code == 502
    assert http.raw_body is True
    assert http.access_logs is True
    assert http.middleware == ["gzip", "headers"]
    assert http.uploads == UploadsConfig(
        dir="/srv/uploads", forbid=[".php", ".exe", ".sh"], allow=[".png"]
    )
    pool = http.pool
    assert pool.command == ["python", "other.py"]
    assert (pool.num_workers, pool.max_jobs, pool.max_queue_size) == (3, 100, 50)
    assert pool.allocate_timeout == pytest.approx(0.5)
    assert pool.reset_timeout == 7200.0
    assert pool.destroy_timeout == pytest.approx(1.5)
    assert pool.stream_timeout == pytest.approx(300e-6)
    assert pool.supervisor == SupervisorConfig(
        watch_tick=1.0, ttl=600.0, idle_ttl=30.0, max_worker_memory=128, exec_ttl=0.25
    )
    assert pool.dynamic_allocator == DynamicAllocatorConfig(
        max_workers=20, spawn_rate=2, idle_timeout=10.0
    )


def test_zero_values_mean_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: "3"
        server: {command: "php w.php", relay_timeout: 0}
        http:
          address: ":8080"
          max_request_size: 0
          internal_error_code: 0
          pool:
            num_workers: 0
            allocate_timeout: 0
            reset_timeout: "0"
            supervisor:
              watch_tick: 0
            dynamic_allocator: {max_workers: 0, spawn_rate: 0, idle_timeout: 500ms}
        rpc:
        """,
    )
    cfg = load_config(path, environ={})
    assert cfg.http is not None and cfg.server is not None
    assert (cfg.http.host, cfg.http.port, cfg.http.address) == ("0.0.0.0", 8080, "0.0.0.0:8080")
    assert cfg.http.max_request_size == 1000
    assert cfg.http.internal_error_code == 500
    pool = cfg.http.pool
    assert pool.num_workers == CPUS
    assert (pool.allocate_timeout, pool.reset_timeout) == (60.0, 60.0)
    assert pool.supervisor == SupervisorConfig()
    assert pool.dynamic_allocator == DynamicAllocatorConfig(10, 5, 60.0)
    assert cfg.server.relay_timeout == 60.0
    assert cfg.rpc == RpcConfig(listen="tcp://127.0.0.1:6001")


def test_null_keys_mean_defaults_and_empty_sections(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: "3"
        server:
          command: php w.php
          user:
          env:
        logs:
        http:
          address: 127.0.0.1:1
          pool:
            num_workers:
            supervisor:
        """,
    )
    cfg = load_config(path, environ={})
    assert cfg.server is not None and cfg.http is not None
    assert cfg.server.user == ""
    assert cfg.server.env == {}
    assert cfg.logs == LogsConfig()
    assert cfg.http.pool.num_workers == CPUS
    assert cfg.http.pool.supervisor == SupervisorConfig()


def test_command_string_is_split_with_quotes(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: "3"
        server:
          command: python -c "import app; app.run('a b')"   --name 'x y' plain\\ space
        """,
    )
    cfg = load_config(path, environ={})
    assert cfg.server is not None
    assert cfg.server.command == [
        "python",
        "-c",
        "import app; app.run('a b')",
        "--name",
        "x y",
        "plain space",
    ]


def test_env_list_of_maps_is_upper_cased_and_stringified(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: "3"
        server:
          command: php w.php
          env:
            - some_key: "value"
            - other.key: 12
            - flag: false
            - ratio: 1.5
        """,
    )
    cfg = load_config(path, environ={})
    assert cfg.server is not None
    assert cfg.server.env == {
        "SOME_KEY": "value",
        "OTHER.KEY": "12",
        "FLAG": "false",
        "RATIO": "1.5",
    }


def test_env_expansion(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: "3"
        server:
          command: "${PHP_BIN:-php} $SCRIPT"
          user: "${UNSET_USER}"
          env:
            - DSN: "mysql://${DB_HOST:-localhost}:${DB_PORT:-3306}/db"
            - PRICE: "$$5 ${EMPTY:-fallback} $NOPE."
            - KEEP: "a ${SET} b:-c"
        http:
          address: "${HOST:-127.0.0.1}:${PORT}"
          middleware: ["$MW"]
          pool:
            num_workers: ${WORKERS}
            allocate_timeout: ${TIMEOUT:-5s}
        """,
    )
    environ = {
        "SCRIPT": "worker.php",
        "DB_HOST": "db",
        "EMPTY": "",
        "SET": "x",
        "PORT": "9001",
        "MW": "gzip",
        "WORKERS": "7",
    }
    cfg = load_config(path, environ=environ)
    assert cfg.server is not None and cfg.http is not None
    assert cfg.server.command == ["php", "worker.php"]
    assert cfg.server.user == ""
    assert cfg.server.env == {
        "DSN": "mysql://db:3306/db",
        "PRICE": "$5 fallback .",
        "KEEP": "a x b:-c",  # RoadRunner would empty the whole value here
    }
    assert (cfg.http.host, cfg.http.port) == ("127.0.0.1", 9001)
    assert cfg.http.middleware == ["gzip"]
    assert cfg.http.pool.num_workers == 7
    assert cfg.http.pool.allocate_timeout == 5.0


def test_env_expansion_uses_os_environ_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GR_TEST_CMD", "python app.py")
    path = write(tmp_path, 'version: "3"\nserver:\n  command: $GR_TEST_CMD\n')
    cfg = load_config(path)
    assert cfg.server is not None
    assert cfg.server.command == ["python", "app.py"]


def test_overrides(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: "3"
        server:
          command: php w.php
        http:
          address: 127.0.0.1:8080
          pool:
            num_workers: 2
        """,
    )
    cfg = load_config(
        path,
        overrides=[
            "http.address=127.0.0.1:9000",
            "http.pool.num_workers=4",
            "http.pool.debug=true",
            "http.pool.allocate_timeout=${T:-3s}",
            "http.middleware=[gzip, static]",
            "server.command='python -m app'",
            "rpc.listen=tcp://127.0.0.1:7000",
            "logs.level=debug",
        ],
        environ={},
    )
    assert cfg.http is not None and cfg.server is not None
    assert (cfg.http.host, cfg.http.port) == ("127.0.0.1", 9000)
    assert cfg.http.pool.num_workers == 4
    assert cfg.http.pool.debug is True
    assert cfg.http.pool.allocate_timeout == 3.0
    assert cfg.http.middleware == ["gzip", "static"]
    assert cfg.server.command == ["python", "-m", "app"]
    assert cfg.rpc == RpcConfig("tcp://127.0.0.1:7000")
    assert cfg.logs.level == "debug"
    assert cfg.raw["http"]["pool"]["num_workers"] == 4


def test_pool_command_without_server_section(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: "3"
        http:
          address: 127.0.0.1:8080
          pool: {command: "python w.py", num_workers: 1}
        """,
    )
    cfg = load_config(path, environ={})
    assert cfg.server is None
    assert cfg.http is not None
    assert cfg.http.pool.command == ["python", "w.py"]


def test_config_without_workers_needs_no_server(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, 'version: "3"\nrpc: {}\n'), environ={})
    assert cfg.server is None and cfg.http is None
    assert cfg.rpc == RpcConfig()


def test_logs_encoding_follows_mode(tmp_path: Path) -> None:
    dev = load_config(write(tmp_path, 'version: "3"\nlogs: {mode: development}\n'), environ={})
    prod = load_config(write(tmp_path, 'version: "3"\nlogs: {level: ERROR}\n'), environ={})
    assert (dev.logs.mode, dev.logs.encoding) == ("development", "console")
    assert (prod.logs.mode, prod.logs.encoding, prod.logs.level) == ("production", "json", "error")


def test_integer_duration_logs_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(
        tmp_path,
        """
        version: "3"
        server:
          command: php w.php
        http:
          address: 127.0.0.1:8080
          pool:
            allocate_timeout: 60
        """,
    )
    with caplog.at_level(logging.WARNING, logger="greenrunner.config"):
        cfg = load_config(path, environ={})
    assert cfg.http is not None
    assert cfg.http.pool.allocate_timeout == pytest.approx(60e-9)
    messages = [r.getMessage() for r in caplog.records if r.name == "greenrunner.config"]
    assert any(
        "rr.yaml:7" in m
        and "http.pool.allocate_timeout: 60 has no unit and means 60ns" in m
        and 'write "60s"' in m
        for m in messages
    ), messages


def test_unsupported_sections_are_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(
        tmp_path,
        """
        version: "3"
        server:
          command: php w.php
        http:
          address: 127.0.0.1:8080
          fcgi: {address: "tcp://0.0.0.0:9000"}
          http3: {address: ":443"}
          middleware: [gzip, my_thing]
        kv:
          local: {driver: memory}
        grpc:
          listen: tcp://127.0.0.1:9001
        endure: {grace_period: 30s}
        something_else: 1
        """,
    )
    with caplog.at_level(logging.WARNING, logger="greenrunner.config"):
        cfg = load_config(path, environ={})
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "section kv is not supported by Greenrunner and is ignored" in text
    assert "section grpc is not supported by Greenrunner and is ignored" in text
    assert "section endure is not supported" in text
    assert "http.fcgi: is not supported by Greenrunner yet" in text
    assert "http.http3: is not supported by Greenrunner yet" in text
    assert "'my_thing' does not exist" in text
    assert "unknown section something_else is ignored" in text
    assert cfg.http is not None
    assert cfg.http.middleware == ["gzip", "my_thing"]
    assert "kv" in cfg.raw


def test_includes_override_root_sections(tmp_path: Path) -> None:
    write(
        tmp_path,
        """
        version: "3"
        http:
          address: 127.0.0.1:9999
          pool: {num_workers: 9}
        """,
        name="conf/extra.yaml",
    )
    main = write(
        tmp_path,
        """
        version: "3"
        include: [conf/extra.yaml]
        server:
          command: php w.php
        http:
          address: 127.0.0.1:8080
        """,
        name="rr.yaml",
    )
    cfg = load_config(main, environ={})
    assert cfg.http is not None
    assert (cfg.http.port, cfg.http.pool.num_workers) == (9999, 9)
    # a command-line override still wins over an included file
    cfg = load_config(main, overrides=["http.pool.num_workers=3"], environ={})
    assert cfg.http is not None
    assert (cfg.http.port, cfg.http.pool.num_workers) == (9999, 3)


def test_error_in_included_file_names_that_file(tmp_path: Path) -> None:
    write(tmp_path, 'version: "3"\nhttp:\n  address: 1:2\n  pool: {num_workers: x}\n', "inc.yaml")
    main = write(tmp_path, 'version: "3"\ninclude: inc.yaml\nserver: {command: php w}\n')
    with pytest.raises(ConfigError) as info:
        load_config(main, environ={})
    err = info.value
    assert err.file is not None and err.file.endswith("inc.yaml")
    assert (err.line, err.key_path) == (4, "http.pool.num_workers")


def test_repository_default_config_loads() -> None:
    path = Path(__file__).resolve().parents[2] / "config" / "rr.yaml"
    cfg = load_config(str(path), environ={})
    assert cfg.server is not None and cfg.http is not None
    assert cfg.server.command == ["python3", "-m", "relays.wsgi", "examples.hello:app"]
    assert (cfg.http.host, cfg.http.port, cfg.http.pool.num_workers) == ("127.0.0.1", 8080, 2)
    assert (cfg.logs.level, cfg.logs.mode) == ("info", "development")


def test_config_from_dict() -> None:
    cfg = config_from_dict(
        {
            "server": {"command": ["python", "w.py"], "env": {"a": 1}},
            "http": {"address": "127.0.0.1:0", "pool": {"num_workers": 1}},
        },
        overrides=["http.pool.max_jobs=10"],
    )
    assert cfg.version == "3"
    assert cfg.path is None
    assert cfg.server is not None and cfg.http is not None
    assert cfg.server.env == {"A": "1"}
    assert (cfg.http.port, cfg.http.pool.max_jobs) == (0, 10)


def test_config_from_dict_errors_name_source_and_key() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict(
            {"server": {"command": "x"}, "http": {"address": ":1", "pool": {"max_jobs": "lots"}}},
            source="<embedded>",
        )
    assert info.value.key_path == "http.pool.max_jobs"
    assert str(info.value).startswith("<embedded>: http.pool.max_jobs: expected an integer")


def test_parse_pool_config() -> None:
    pool = parse_pool_config({"num_workers": 2, "supervisor": {"exec_ttl": "5s"}})
    assert pool.num_workers == 2
    assert pool.supervisor == SupervisorConfig(exec_ttl=5.0)
    assert parse_pool_config({}) == PoolConfig()
    with pytest.raises(ConfigError) as info:
        parse_pool_config({"num_workers": 501}, source="<pool jobs>", key_prefix="jobs.pool")
    assert info.value.key_path == "jobs.pool.num_workers"
    assert "number of workers can't be more than 500" in str(info.value)
    assert str(info.value).startswith("<pool jobs>: jobs.pool.num_workers:")


def test_config_error_pickles_with_attributes(tmp_path: Path) -> None:
    path = write(tmp_path, 'version: "3"\nhttp:\n  address: nope\n  raw_body: maybe\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    copy = pickle.loads(pickle.dumps(info.value))
    assert (copy.file, copy.line, copy.column, copy.key_path) == (
        info.value.file,
        info.value.line,
        info.value.column,
        info.value.key_path,
    )
    assert str(copy) == str(info.value)
    assert len(copy.errors) == len(info.value.errors) >= 2


def test_empty_relay_and_listen_fall_back_to_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'version: "3"\nserver:\n  command: php w\n  relay: "${RELAY}"\nrpc:\n  listen: $RPC\n',
    )
    cfg = load_config(path, environ={})
    assert cfg.server is not None
    assert cfg.server.relay == "pipes"
    assert cfg.rpc == RpcConfig("tcp://127.0.0.1:6001")


def test_socket_relays_are_accepted(tmp_path: Path) -> None:
    for relay in ("tcp://127.0.0.1:7000", "unix:///tmp/gr.sock", "pipes"):
        path = write(tmp_path, f'version: "3"\nserver:\n  command: php w\n  relay: {relay}\n')
        cfg = load_config(path, environ={})
        assert cfg.server is not None
        assert cfg.server.relay == relay
