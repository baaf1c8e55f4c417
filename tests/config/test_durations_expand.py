"""parse_duration (Go syntax, integer nanoseconds) and env expansion on their own."""

from __future__ import annotations

import logging

import pytest

from actors.config import ConfigError, format_duration, parse_duration
from actors.config.expand import expand_env, expand_tree


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("20s", 20.0),
        ("1m30s", 90.0),
        ("500ms", 0.5),
        ("2h", 7200.0),
        ("1.5s", 1.5),
        ("2.5h", 9000.0),
        (".5s", 0.5),
        ("300us", 300e-6),
        ("300\u00b5s", 300e-6),
        ("300\u03bcs", 300e-6),
        ("250ns", 250e-9),
        ("1h2m3s4ms", 3723.004),
        ("+5s", 5.0),
        (" 10s ", 10.0),
        ("0", 0.0),
        ("", 0.0),
    ],
)
def test_go_duration_strings(text: str, seconds: float) -> None:
    assert parse_duration(text, key="k") == pytest.approx(seconds)


def test_integer_is_nanoseconds_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="greenrunner.config"):
        assert parse_duration(60, key="http.pool.allocate_timeout", where="rr.yaml:12") == (
            pytest.approx(60e-9)
        )
    assert caplog.records[0].getMessage() == (
        "rr.yaml:12: http.pool.allocate_timeout: 60 has no unit and means 60ns "
        '(RoadRunner semantics); write "60s"'
    )


def test_zero_integer_is_silent(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="greenrunner.config"):
        assert parse_duration(0, key="k") == 0.0
    assert not caplog.records


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("60", 'write "60s"'),
        ("1.5", 'write "1.5s"'),
        ("10sec", "unknown unit 'sec'"),
        ("5 s", "expected a number followed by a unit"),
        ("s", "expected a number followed by a unit"),
        ("-1s", "can't be negative"),
        (-3, "can't be negative"),
        (True, "expected a duration"),
        ([1], "expected a duration"),
    ],
)
def test_bad_durations(value: object, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_duration(value, key="server.on_init.exec_timeout")
    assert expected in info.value.message
    assert info.value.key_path == "server.on_init.exec_timeout"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (90, "1m30s"), (0.5, "500ms"), (7200, "2h"), (3e-7, "300ns"), (2e-5, "20us")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text, key="k") == pytest.approx(seconds)


ENV = {"A": "alpha", "EMPTY": "", "B_2": "beta", "NESTED": "n"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$A", "alpha"),
        ("${A}", "alpha"),
        ("x${A}y", "xalphay"),
        ("$A.$B_2", "alpha.beta"),
        ("${UNSET}", ""),
        ("$UNSET/x", "/x"),
        ("${UNSET:-def}", "def"),
        ("${EMPTY:-def}", "def"),
        ("${A:-def}", "alpha"),
        ("${UNSET:-}", ""),
        ("${UNSET:-${NESTED}}", "n"),
        ("${UNSET:-a b:c}", "a b:c"),
        ("a ${A} b:-c", "a alpha b:-c"),
        ("$$A", "$A"),
        ("cost: 5$", "cost: 5$"),
        ("$5 and $ x", "$5 and $ x"),
        ("${A:=x}", "${A:=x}"),
        ("${unterminated", "${unterminated"),
        ("no dollars", "no dollars"),
    ],
)
def test_expand_env(text: str, expected: str) -> None:
    assert expand_env(text, ENV) == expected


def test_expand_tree_touches_only_string_values() -> None:
    tree = {"$A": "$A", "n": 5, "b": True, "l": ["$B_2", 1, {"k": "${X:-d}"}], "z": None}
    assert expand_tree(tree, ENV) == {
        "$A": "alpha",
        "n": 5,
        "b": True,
        "l": ["beta", 1, {"k": "d"}],
        "z": None,
    }
