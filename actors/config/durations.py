"""Go-style durations, the way RoadRunner configs spell timeouts.

RoadRunner decodes timeouts into Go ``time.Duration``: a string goes through
``time.ParseDuration`` (``"20s"``, ``"1m30s"``, ``"1.5h"``) and a bare YAML
integer is taken as a count of *nanoseconds*.  Greenrunner keeps that meaning
so a config behaves identically under both servers, but says so loudly: a
``60`` that silently means 60 ns is the classic RoadRunner foot-gun
(every allocation times out), so it is logged as a warning naming the key
and the line.  A unit-less *string* (``"60"``) is a parse error in Go too;
here the error suggests the fix.  The user-facing rule is in
``docs/protocol.md`` "Durations".
"""

from __future__ import annotations

import logging
import re

from actors.config.errors import ConfigError, describe

__all__ = ["format_duration", "parse_duration"]

log = logging.getLogger("greenrunner.config")

# Seconds per unit; both micro signs Go accepts (U+00B5 and U+03BC) are here.
_UNITS: dict[str, float] = {
    "ns": 1e-9,
    "us": 1e-6,
    "\u00b5s": 1e-6,
    "\u03bcs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_COMPONENT = re.compile(r"(\d+\.?\d*|\.\d+)([a-zA-Z\u00b5\u03bc]+)")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")
_EXAMPLES = '"500ms", "20s", "1m30s" or "2h"'


def _fail(message: str, key: str) -> ConfigError:
    return ConfigError(message, key_path=key)


def _parse_go(text: str, key: str) -> float:
    """Parse ``time.ParseDuration`` syntax (sign handled by the caller)."""
    pos = 0
    total = 0.0
    while pos < len(text):
        match = _COMPONENT.match(text, pos)
        if match is None:
            raise _fail(
                f"invalid duration {text!r}: expected a number followed by a unit, "
                f"e.g. {_EXAMPLES}",
                key,
            )
        number, unit = match.groups()
        if unit not in _UNITS:
            raise _fail(
                f"invalid duration {text!r}: unknown unit {unit!r} (use ns, us, ms, s, m or h)",
                key,
            )
        total += float(number) * _UNITS[unit]
        pos = match.end()
    return total


def parse_duration(value: object, *, key: str, where: str = "") -> float:
    """Turn a RoadRunner duration into seconds.

    ``key`` (the dotted config path) and ``where`` (``file:line``, optional)
    only feed messages: the error and the nanosecond warning must let the
    user find the value.  ``0``, ``"0"`` and ``""`` (an unset ``${VAR}``)
    return ``0.0`` so callers can apply their own "0 means default" rule.
    Negative durations are rejected although Go parses them: no Greenrunner
    timeout has a meaning for them.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _fail(f"expected a duration such as {_EXAMPLES}, got {describe(value)}", key)
    if isinstance(value, int | float):
        if value < 0:
            raise _fail(f"a duration can't be negative, got {value!r}", key)
        if value == 0:
            return 0.0
        shown = repr(value)
        prefix = f"{where}: " if where else ""
        log.warning(
            '%s%s: %s has no unit and means %sns (RoadRunner semantics); write "%ss"',
            prefix,
            key,
            shown,
            shown,
            shown,
        )
        return float(value) * 1e-9
    text = value.strip()
    if text in ("", "0", "+0", "-0"):
        return 0.0
    if _NUMBER.fullmatch(text):
        raise _fail(
            f'duration {value!r} has no unit: write "{text}s" for seconds '
            f"(units: ns, us, ms, s, m, h)",
            key,
        )
    if text.startswith("-"):
        raise _fail(f"a duration can't be negative, got {value!r}", key)
    return _parse_go(text.removeprefix("+"), key)


def format_duration(seconds: float) -> str:
    """Render seconds back in Go syntax, for messages and ``rr``-style dumps."""
    if seconds == 0:
        return "0s"
    if seconds < 1e-6:
        return f"{seconds * 1e9:g}ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:g}us"
    if seconds < 1:
        return f"{seconds * 1e3:g}ms"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    out = ""
    if hours:
        out += f"{int(hours)}h"
    if minutes:
        out += f"{int(minutes)}m"
    if secs or not out:
        out += f"{secs:g}s"
    return out
