"""Reading a YAML file into plain dicts/lists plus the position of every key and value.

ruamel's round-trip loader records the line and column of every node; the
tree is copied into plain Python data (what the schemas validate) and a
:class:`~actors.config.positions.Positions` table.  YAML problems (syntax,
duplicate keys, an empty file, a list at the top) become located
:class:`~actors.config.errors.ConfigError` errors.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarbool import ScalarBoolean

from actors.config.errors import ConfigError, describe
from actors.config.positions import Loc, Positions
from actors.config.schema.paths import Path

__all__ = ["plain_dict", "read_yaml"]


def _scalar(value: Any) -> Any:
    """ruamel's round-trip scalar subclasses → plain Python types (bool first: it's an int)."""
    if isinstance(value, ScalarBoolean | bool):
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


def _loc(file: str, pair: Any) -> Loc | None:
    try:
        line, column = pair
    except (TypeError, ValueError):
        return None
    return Loc(file, line + 1, column + 1)


def _key_name(key: Any) -> str:
    """Keys are strings in every RoadRunner section; ``1:`` or ``true:`` become their text."""
    if isinstance(key, str):
        return str(key)
    value = _scalar(key)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _plain(node: Any, path: Path, file: str, pos: Positions) -> Any:
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        parent = pos.keys.get(path) or pos.root
        for key, value in node.items():
            name = _key_name(key)
            child = (*path, name)
            try:  # merged keys (``<<: *anchor``) have no position of their own
                key_loc = _loc(file, node.lc.key(key)) or parent
            except KeyError:
                key_loc = parent
            pos.keys[child] = key_loc
            value_loc = key_loc
            if value is not None:
                try:
                    value_loc = _loc(file, node.lc.value(key)) or key_loc
                except KeyError:
                    value_loc = key_loc
            pos.values[child] = value_loc
            out[name] = _plain(value, child, file, pos)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for index, item in enumerate(node):
            child = (*path, index)
            try:
                item_loc = _loc(file, node.lc.item(index))
            except (KeyError, IndexError):
                item_loc = None
            pos.values[child] = item_loc or pos.values.get(path) or pos.root
            items.append(_plain(item, child, file, pos))
        return items
    return _scalar(node)


def plain_dict(node: Any) -> Any:
    """Normalise caller-built data: string keys, lists for tuples, a private copy."""
    if isinstance(node, Mapping):
        return {str(key): plain_dict(value) for key, value in node.items()}
    if isinstance(node, list | tuple):
        return [plain_dict(item) for item in node]
    return node


def _yaml_error(exc: YAMLError, display: str) -> ConfigError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    if isinstance(exc, DuplicateKeyError):
        text = str(exc.problem or "duplicate key").splitlines()[0]
        message = f"{text}: each key may appear only once in a mapping"
    elif isinstance(exc, MarkedYAMLError):
        parts = [p for p in (exc.context, exc.problem) if p]
        message = "YAML syntax error: " + ("; ".join(parts) or str(exc).splitlines()[0])
    else:
        message = f"YAML syntax error: {exc}"
    return ConfigError(message, file=display, line=line, column=column)


def read_yaml(path: str, display: str) -> tuple[dict[str, Any], Positions]:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ConfigError(
            f"the config file does not exist (working directory: {os.getcwd()})", file=display
        ) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a config file", file=display) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the file is not UTF-8 text: {exc.reason}", file=display) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the config file: {exc.strerror}", file=display) from None
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        tree = yaml.load(text)
    except YAMLError as exc:
        raise _yaml_error(exc, display) from None
    if tree is None:
        raise ConfigError(
            'the file is empty; a config needs at least version: "3"',
            file=display,
            line=1,
            column=1,
        )
    if not isinstance(tree, CommentedMap):
        raise ConfigError(
            "expected a map of sections at the top level, got "
            + ("a list" if isinstance(tree, CommentedSeq) else describe(_scalar(tree))),
            file=display,
            line=1,
            column=1,
        )
    positions = Positions(Loc(display, tree.lc.line + 1, tree.lc.col + 1))
    return _plain(tree, (), display, positions), positions
