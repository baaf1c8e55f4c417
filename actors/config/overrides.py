"""``-o section.key=value`` overrides, as on RoadRunner's command line.

The value is read as YAML (``num_workers=4`` is an int, ``[a, b]`` a list)
and env-expanded; the override gets its own position (``<-o ...>``) so a bad
value is reported against the override, not the file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from actors.config.errors import ConfigError, describe
from actors.config.expand import expand_env
from actors.config.positions import Loc, Positions
from actors.config.schema.paths import Path

__all__ = ["apply_overrides", "as_list", "is_include"]


def _parse_value(text: str) -> Any:
    """An override's value as YAML would read it (``4`` is an int, ``true`` a bool, ``[a, b]``
    a list); anything YAML reads as a map, or cannot read, stays the literal text."""
    if len(text) >= 2 and text[0] == text[-1] == "`":
        return text[1:-1]
    try:
        value = YAML(typ="safe", pure=True).load(text)
    except YAMLError:
        return text
    if isinstance(value, dict):
        return text
    if isinstance(value, list) and not all(
        isinstance(item, str | int | float | bool) for item in value
    ):
        return text
    return value


def _apply_override(
    data: dict[str, Any],
    positions: Positions,
    override: str,
    environ: Mapping[str, str],
) -> None:
    display = f"<-o {override}>"
    key, sep, raw = override.partition("=")
    key = key.strip()
    segments = key.split(".")
    if not sep or not key or not raw.strip() or not all(s.strip() for s in segments):
        raise ConfigError(
            f"malformed override {override!r}: expected -o section.key=value "
            "(e.g. -o http.address=127.0.0.1:9000)",
            file=display,
            line=1,
            column=1,
            key_path=key or None,
        )
    segments = [s.strip() for s in segments]
    value = _parse_value(expand_env(raw.strip(), environ))
    node: dict[str, Any] = data
    for depth, segment in enumerate(segments[:-1]):
        child = node.get(segment)
        if child is None:
            child = node[segment] = {}
        elif not isinstance(child, dict):
            where = ".".join(segments[: depth + 1])
            raise ConfigError(
                f"override {override!r} cannot set {key}: {where} is {describe(child)}, not a map",
                file=display,
                line=1,
                column=1,
                key_path=key,
            )
        node = child
    node[segments[-1]] = value
    path: Path = tuple(segments)
    positions.drop(path)
    value_loc = Loc(display, 1, len(override) - len(raw) + 1)
    key_loc = Loc(display, 1, 1)
    for cut in range(1, len(path)):
        positions.keys.setdefault(path[:cut], key_loc)
        positions.values.setdefault(path[:cut], key_loc)
    positions.keys[path] = key_loc
    positions.values[path] = value_loc
    if isinstance(value, list):
        for index in range(len(value)):
            positions.values[(*path, index)] = value_loc


def apply_overrides(
    data: dict[str, Any],
    positions: Positions,
    overrides: Sequence[str],
    environ: Mapping[str, str],
) -> None:
    if isinstance(overrides, str):  # a lone "-o" string would otherwise be split into chars
        overrides = [overrides]
    for override in overrides:
        _apply_override(data, positions, override, environ)


def as_list(overrides: Sequence[str]) -> list[str]:
    return [overrides] if isinstance(overrides, str) else list(overrides)


def is_include(override: str) -> bool:
    return override.partition("=")[0].strip() == "include"
