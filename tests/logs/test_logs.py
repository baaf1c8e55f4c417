"""Tests for actors.logs: RR-shaped output on real streams and files.

Every test writes through the real handlers (and their off-hub writer
threads) to pytest's captured stderr/stdout, to files under tmp_path, to a
pipe or to a pty; nothing is mocked.  Lines are written by a background
thread, so a test calls :func:`flush_logging` before it reads them.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import os
import re
import select
import sys
from pathlib import Path
from typing import Any

import pytest

from actors import logs
from actors.config.model import LogChannelConfig as Channel
from actors.config.model import LogsConfig
from actors.logs import (
    flush_logging,
    forward_worker_output,
    get_logger,
    reset_logging,
    setup_logging,
)

TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$")


def Logs(**kwargs: Any) -> LogsConfig:
    """A LogsConfig with console encoding unless the test says otherwise (shorter asserts)."""
    return LogsConfig(**{"encoding": "console", **kwargs})


@pytest.fixture(autouse=True)
def _reset() -> object:
    reset_logging()
    yield
    reset_logging()


def captured(capsys: pytest.CaptureFixture[str]) -> Any:
    """What reached stdout/stderr once the writer threads have written everything."""
    assert flush_logging(5.0), "log output still blocked after 5 s"
    return capsys.readouterr()


def err_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return captured(capsys).err.splitlines()


def read(path: Path) -> str:
    """A log file's text once the writer threads have written everything."""
    assert flush_logging(5.0), "log output still blocked after 5 s"
    return path.read_text()


def lineno_after() -> int:
    """The line number following the caller's line (for caller assertions)."""
    frame = inspect.currentframe()
    assert frame is not None and frame.f_back is not None
    return frame.f_back.f_lineno + 1


# --------------------------------------------------------------------------- shapes


def test_console_line_has_rr_columns(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(Logs())
    logs.log(get_logger("server"), "info", "worker started", pid=123, cmd="php w.php")
    [line] = err_lines(capsys)
    ts, level, name, msg, fields = line.split("\t")
    assert TS_RE.match(ts)
    assert level == "INFO"
    assert name == "server      "  # padded to 12 like RR
    assert msg == "worker started"
    assert json.loads(fields) == {"pid": 123, "cmd": "php w.php"}
    assert fields == '{"pid": 123, "cmd": "php w.php"}'  # zap's spaced console JSON


def test_console_line_without_fields_has_four_columns(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(Logs())
    get_logger("http").warning("plain")
    [line] = err_lines(capsys)
    assert line.split("\t")[1:] == ["WARN", "http        ", "plain"]


def test_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(Logs(encoding="json"))
    logs.log(get_logger("pool"), "info", "worker stopped", pid=7, reason="ttl")
    [line] = err_lines(capsys)
    obj = json.loads(line)
    assert list(obj)[:4] == ["level", "ts", "logger", "msg"]
    assert obj["level"] == "info"
    assert isinstance(obj["ts"], float)
    assert obj["logger"] == "pool"
    assert obj["msg"] == "worker stopped"
    assert obj["pid"] == 7 and obj["reason"] == "ttl"
    assert "caller" not in obj  # production has no caller
    assert line.startswith('{"level":"info","ts":')  # compact, like zap


def test_production_mode_defaults_to_json_when_encoding_unset(
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup_logging(LogsConfig(mode="production", encoding=""))
    get_logger("server").info("hello")
    assert json.loads(err_lines(capsys)[0])["msg"] == "hello"


def test_json_exception_has_error_and_stacktrace(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(Logs(encoding="json"))
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        get_logger("rpc").exception("call failed", extra={"fields": {"method": "x"}})
    obj = json.loads(captured(capsys).err)
    assert obj["level"] == "error"
    assert obj["error"] == "boom"
    assert "RuntimeError: boom" in obj["stacktrace"]
    assert obj["method"] == "x"


def test_console_exception_adds_error_field_and_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup_logging(Logs())
    try:
        raise ValueError("bad")
    except ValueError:
        get_logger("http").exception("oops")
    first, *rest = err_lines(capsys)
    assert json.loads(first.split("\t")[4]) == {"error": "bad"}
    assert rest[0].startswith("Traceback")
    assert rest[-1] == "ValueError: bad"


def test_development_console_has_caller_and_debug_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup_logging(LogsConfig(mode="development", level=""))  # no level: debug, as in zap
    line_no = lineno_after()
    logs.log(get_logger("server"), "debug", "dbg", a=1)
    [line] = err_lines(capsys)
    _ts, level, name, caller, msg, fields = line.split("\t")
    assert (level, name.strip(), msg, json.loads(fields)) == ("DEBUG", "server", "dbg", {"a": 1})
    assert caller == f"logs/test_logs.py:{line_no}"
    assert "\x1b[" not in line  # captured stderr is no TTY: no colours


def test_development_json_has_caller(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(Logs(mode="development", encoding="json", level="debug"))
    line_no = lineno_after()
    logs.log(get_logger("config"), "debug", "loaded", path="/x")
    obj = json.loads(captured(capsys).err)
    assert obj["caller"] == f"logs/test_logs.py:{line_no}"
    assert obj["path"] == "/x"


def test_development_colours_on_a_tty() -> None:
    try:
        master, slave = os.openpty()
    except OSError:
        pytest.skip("no pty available")
    try:
        setup_logging(Logs(mode="development", output=[os.ttyname(slave)]))
        get_logger("http").info("coloured")
        got = b""
        while b"coloured" not in got:
            ready, _, _ = select.select([master], [], [], 5)
            assert ready, got
            got += os.read(master, 65536)
        text = got.decode()
        assert "\x1b[96mINFO\x1b[0m" in text
        assert "\x1b[92mhttp        \x1b[0m" in text
    finally:
        reset_logging()
        os.close(master)
        os.close(slave)


def test_raw_mode_prints_message_only(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(Logs(mode="raw"))
    logs.log(get_logger("http"), "info", "just this", pid=1)
    assert captured(capsys).err == "just this\n"


@pytest.mark.parametrize("mode", ["off", "none"])
def test_off_mode_prints_nothing(mode: str, capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(Logs(mode=mode))
    get_logger("server").error("hidden")
    forward_worker_output(1, b"hidden too")
    assert captured(capsys) == ("", "")  # not even the stdlib's lastResort
    assert not get_logger("server").isEnabledFor(logs.FATAL)


def test_panic_and_fatal_level_names(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(Logs(encoding="json"))
    logs.log(get_logger("server"), "panic", "p")
    logs.log(get_logger("server"), logs.FATAL, "f")
    assert [json.loads(x)["level"] for x in err_lines(capsys)] == ["panic", "fatal"]


def test_message_percent_signs_are_not_interpolated(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(Logs(mode="raw"))
    logs.log(get_logger("server"), "info", "100% done %s %d")
    assert captured(capsys).err == "100% done %s %d\n"


def test_odd_field_values_and_reserved_names(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(Logs(encoding="json"))
    logs.log(
        get_logger("rpc"),
        "info",
        "odd",
        blob=b"\xff",
        path=Path("/a"),
        obj=object(),
        nan=float("nan"),
        msg="clash",
    )
    obj = json.loads(captured(capsys).err)
    assert obj["msg"] == "odd"
    assert obj["fields.msg"] == "clash"
    assert "nan" in obj and "obj" in obj


def test_stdlib_extra_fields_are_rendered(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(Logs(encoding="json"))
    get_logger("http").info("via stdlib", extra={"fields": {"status": 200}})
    assert json.loads(captured(capsys).err)["status"] == 200


# --------------------------------------------------------------------------- levels


def test_global_level_filters(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(Logs(level="warn"))
    log = get_logger("pool")
    log.info("dropped")
    log.warning("kept")
    log.error("kept too")
    assert [x.split("\t")[3] for x in err_lines(capsys)] == ["kept", "kept too"]


def test_channel_more_verbose_than_global(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(Logs(level="warn", channels={"http": Channel(level="debug")}))
    logs.log(get_logger("http"), "debug", "http debug")
    logs.log(get_logger("server"), "info", "server info")
    logs.log(get_logger("server"), "warn", "server warn")
    lines = err_lines(capsys)
    assert [x.split("\t")[2].strip() + ":" + x.split("\t")[3] for x in lines] == [
        "http:http debug",
        "server:server warn",
    ]


def test_channel_quieter_than_global(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(Logs(level="debug", channels={"http": Channel(level="error")}))
    logs.log(get_logger("http"), "warn", "dropped")
    logs.log(get_logger("http"), "error", "http error")
    logs.log(get_logger("server"), "debug", "server debug")
    assert [x.split("\t")[3] for x in err_lines(capsys)] == ["http error", "server debug"]
    assert not get_logger("http").isEnabledFor(logging.WARNING)


def test_channel_own_mode_encoding_and_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    http_log = tmp_path / "http.log"
    setup_logging(
        Logs(channels={"http": Channel(mode="production", encoding="json", output=[str(http_log)])})
    )
    logs.log(get_logger("http"), "info", "to file", status=200)
    logs.log(get_logger("server"), "info", "to stderr")
    assert [x.split("\t")[3] for x in err_lines(capsys)] == ["to stderr"]
    obj = json.loads(read(http_log))
    assert (obj["logger"], obj["msg"], obj["status"]) == ("http", "to file", 200)


def test_channel_off_while_global_on(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(Logs(channels={"http": Channel(mode="off")}))
    get_logger("http").error("hidden")
    get_logger("server").info("shown")
    assert [x.split("\t")[3] for x in err_lines(capsys)] == ["shown"]


def test_global_off_channel_on(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(Logs(mode="off", channels={"http": Channel(mode="production")}))
    get_logger("server").error("hidden")
    get_logger("http").info("shown")
    assert [x.split("\t")[3] for x in err_lines(capsys)] == ["shown"]


def test_sub_logger_follows_its_channel(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(Logs(level="warn", channels={"http": Channel(level="debug")}))
    get_logger("http.server").debug("nested")
    [line] = err_lines(capsys)
    assert line.split("\t")[2].strip() == "http.server"


# --------------------------------------------------------------------------- outputs


def test_output_file_is_appended(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "rr.log"
    path.write_text("previous\n")
    setup_logging(Logs(output=[str(path)]))
    logs.log(get_logger("server"), "info", "one", pid=1)
    logs.log(get_logger("server"), "info", "two")
    lines = read(path).splitlines()
    assert lines[0] == "previous"
    assert [x.split("\t")[3] for x in lines[1:]] == ["one", "two"]
    assert captured(capsys).err == ""


def test_several_outputs_and_string_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "both.log"
    setup_logging(Logs(output=["stdout", str(path)]))
    get_logger("server").info("everywhere")
    out = captured(capsys)
    assert out.err == ""
    assert out.out.split("\t")[3] == "everywhere\n"
    assert read(path) == out.out


def test_setup_twice_does_not_duplicate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "a.log"
    cfg = Logs(output=["stderr", str(path)], channels={"http": Channel(encoding="json")})
    setup_logging(cfg)
    setup_logging(cfg)
    get_logger("server").info("once")
    get_logger("http").info("once http")
    assert len(err_lines(capsys)) == 2
    assert len(read(path).splitlines()) == 2


def test_reload_switches_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = tmp_path / "1.log", tmp_path / "2.log"
    setup_logging(Logs(output=[str(first)]))
    get_logger("server").info("a")
    setup_logging(Logs(output=[str(second)], encoding="json"))
    get_logger("server").info("b")
    assert [x.split("\t")[3] for x in read(first).splitlines()] == ["a"]
    assert json.loads(read(second))["msg"] == "b"


def test_bad_config_keeps_previous_setup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging(Logs(encoding="json"))
    with pytest.raises(ValueError, match="level"):
        setup_logging(Logs(level="loud"))
    with pytest.raises(ValueError, match="mode"):
        setup_logging(Logs(mode="verbose"))
    with pytest.raises(ValueError, match="encoding"):
        setup_logging(Logs(channels={"http": Channel(encoding="xml")}))
    with pytest.raises(OSError):
        setup_logging(Logs(output=[str(tmp_path / "missing-dir" / "x.log")]))
    get_logger("server").info("still json")
    assert json.loads(captured(capsys).err)["msg"] == "still json"


def test_root_logger_untouched_and_reset_restores_propagation() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    setup_logging(Logs(channels={"http": Channel(level="debug")}))
    assert root.handlers == before
    assert get_logger("").propagate is False
    reset_logging()
    assert root.handlers == before
    assert get_logger("").propagate is True
    assert get_logger("").level == logging.NOTSET
    assert get_logger("http").level == logging.NOTSET


def test_closed_output_never_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    closed = open(tmp_path / "closed", "w")  # noqa: SIM115
    closed.close()
    monkeypatch.setattr(sys, "stdout", closed)
    good, errs = tmp_path / "good.log", tmp_path / "errors.log"
    setup_logging(Logs(output=["stdout", str(good)], err_output=[str(errs)]))
    get_logger("server").info("first")
    logs.log(get_logger("server"), "info", "second")
    forward_worker_output(3, b"third")
    assert [x.split("\t")[3] for x in read(good).splitlines()] == ["first", "second", "third"]
    report = read(errs).splitlines()
    assert len(report) == 1 and "cannot write to stdout" in report[0]  # reported once


def test_broken_pipe_never_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    read_fd, write_fd = os.pipe()
    os.close(read_fd)
    broken = os.fdopen(write_fd, "w")
    monkeypatch.setattr(sys, "stderr", broken)
    errs = tmp_path / "errors.log"
    setup_logging(Logs(err_output=[str(errs)]))
    try:
        for _ in range(3):
            get_logger("server").error("into the void")
            forward_worker_output(9, "worker line")
    finally:
        reset_logging()
        monkeypatch.undo()
        with contextlib.suppress(OSError):
            broken.close()
    assert "BrokenPipeError" in read(errs)


def test_unencodable_text_on_ascii_stream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ascii.out"
    with open(path, "w", encoding="ascii") as stream:
        monkeypatch.setattr(sys, "stdout", stream)
        setup_logging(Logs(mode="raw", output=["stdout"]))
        get_logger("server").info("caf\u00e9 \ud800")
        reset_logging()
    assert read(path) == "caf\\xe9 \\ud800\n"


# --------------------------------------------------------------------------- worker output


def test_worker_line_on_server_channel(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(Logs(encoding="json"))
    forward_worker_output(4242, b"hello from php\n")
    obj = json.loads(captured(capsys).err)
    assert (obj["level"], obj["logger"], obj["msg"], obj["pid"]) == (
        "info",
        "server",
        "hello from php",
        4242,
    )


def test_raw_mode_worker_lines_untouched(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(Logs(mode="raw"))
    lines = [
        '{"level":"info","msg":"app log","ctx":{"a":1}}',
        "\ttabs\tand \x1b[31mansi\x1b[0m and 100% %s",
        "   leading and trailing spaces   ",
        "",
        "ends with cr\r",
    ]
    for line in lines:
        forward_worker_output(1, line.encode())
    assert captured(capsys).err == "".join(x + "\n" for x in lines)


def test_raw_server_channel_with_json_global(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(Logs(encoding="json", channels={"server": Channel(mode="raw")}))
    forward_worker_output(5, b'{"from":"worker"}')
    get_logger("http").info("decorated")
    first, second = err_lines(capsys)
    assert first == '{"from":"worker"}'
    assert json.loads(second)["logger"] == "http"


@pytest.mark.parametrize("mode", ["raw", "production"])
def test_long_worker_line_not_truncated(mode: str, capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(Logs(mode=mode, encoding="json"))
    line = ("0123456789abcdef" * 6400).encode()  # 100 KiB
    assert len(line) == 100 * 1024
    forward_worker_output(1, line)
    err = captured(capsys).err
    if mode == "raw":
        assert err == line.decode() + "\n"
    else:
        assert json.loads(err)["msg"] == line.decode()


def test_non_utf8_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(Logs(mode="raw"))
    forward_worker_output(1, b"caf\xe9 \xff\xfe ok \xe2\x82\xac")
    assert captured(capsys).err == "caf\\xe9 \\xff\\xfe ok \u20ac\n"


def test_worker_output_respects_server_level(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(Logs(level="info", channels={"server": Channel(level="error")}))
    forward_worker_output(1, b"dropped")
    assert captured(capsys).err == ""


def test_worker_output_never_raises_on_odd_input() -> None:
    setup_logging(Logs(mode="off", channels={"server": Channel(mode="raw")}))
    forward_worker_output(1, bytearray(b"\x00\x01"))
    forward_worker_output(1, memoryview(b"view"))
    forward_worker_output(1, 12345)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- call-site helper


def test_disabled_level_builds_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(Logs(level="error"))

    class Loud:
        def __str__(self) -> str:
            raise AssertionError("formatted a disabled record")

    logs.log(get_logger("pool"), "debug", "quiet", thing=Loud())
    logs.log(get_logger("pool"), "info", "quiet", thing=Loud())
    assert captured(capsys).err == ""


def test_before_setup_records_reach_the_root_logger(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        logs.log(get_logger("init"), "info", "embedded", step=1)
    [record] = caplog.records
    assert record.name == "greenrunner.init"
    assert record.fields == {"step": 1}  # type: ignore[attr-defined]
