"""Reading a config: YAML with positions, env expansion, includes, ``-o`` overrides.

The order of a load, and why:

1. Parse the YAML with ruamel's round-trip loader, which records the line and
   column of every key and value; the tree is copied into plain dicts/lists
   plus a table ``key path → position``, so validation errors can point at
   ``file:line:column`` while the schemas only see plain data.
2. Expand ``$VAR`` / ``${VAR:-default}`` in every string (:mod:`actors.config.expand`).
3. Apply ``-o section.key=value`` overrides (value parsed as YAML, so
   ``num_workers=4`` is an int).
4. Resolve ``include: [files]`` (paths relative to the including file); each
   included file must carry the same version and its top-level sections
   replace the root's.  ``-o include=...`` works because overrides run
   before this step; the other overrides are applied *again* afterwards so
   a command-line value always wins (RoadRunner lets includes clobber
   ``-o``, which nobody wants on purpose).
5. Validate with the marshmallow schemas (:mod:`actors.config.schema`) and turn
   the first-by-position error (plus the rest, in ``errors``) into a
   :class:`~actors.config.errors.ConfigError`.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from marshmallow import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarbool import ScalarBoolean

from actors.config.errors import ConfigError, describe
from actors.config.expand import expand_env, expand_tree
from actors.config.model import Config, PoolConfig
from actors.config.schema import UNKNOWN_KEY, LoadState, Path, dotted, load_pool, load_root

__all__ = ["config_from_dict", "load_config", "parse_pool_config"]


@dataclass(frozen=True, slots=True)
class Loc:
    """Where something was written: a file (or ``<-o ...>``), 1-based line and column."""

    file: str
    line: int | None = None
    column: int | None = None


@dataclass
class Positions:
    """Key path → where its key and its value were written."""

    root: Loc
    keys: dict[Path, Loc] = field(default_factory=dict)
    values: dict[Path, Loc] = field(default_factory=dict)

    def locate(self, path: Path, *, at_key: bool = False) -> tuple[Loc, bool]:
        """The best position for ``path`` and whether ``path`` itself was found.

        A missing key (a required one) is reported at its nearest written
        ancestor's key, e.g. the ``on_init:`` line for a missing
        ``on_init.command``.
        """
        if path in self.values or path in self.keys:
            if at_key and path in self.keys:
                return self.keys[path], True
            return self.values.get(path) or self.keys[path], True
        for cut in range(len(path) - 1, 0, -1):
            parent = path[:cut]
            if parent in self.keys:
                return self.keys[parent], False
        return self.root, False

    def where(self, path: Path) -> str:
        """``file:line`` for warnings."""
        loc, _ = self.locate(path)
        return f"{loc.file}:{loc.line}" if loc.line is not None else loc.file

    def drop(self, prefix: Path) -> None:
        """Forget positions under ``prefix`` (its value was replaced)."""
        n = len(prefix)
        for table in (self.keys, self.values):
            for path in [p for p in table if p[:n] == prefix and len(p) > n]:
                del table[path]

    def merge(self, other: Positions, prefix: Path) -> None:
        """Take ``other``'s positions at and under ``prefix`` (an included section)."""
        n = len(prefix)
        for mine, theirs in ((self.keys, other.keys), (self.values, other.values)):
            for path, loc in theirs.items():
                if path[:n] == prefix:
                    mine[path] = loc


# -- YAML → plain data + positions ------------------------------------------------------------


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


def _plain_dict(node: Any) -> Any:
    """Normalise caller-built data: string keys, lists for tuples, a private copy."""
    if isinstance(node, Mapping):
        return {str(key): _plain_dict(value) for key, value in node.items()}
    if isinstance(node, list | tuple):
        return [_plain_dict(item) for item in node]
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


def _read_yaml(path: str, display: str) -> tuple[dict[str, Any], Positions]:
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


# -- overrides -------------------------------------------------------------------------------


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


def _apply_overrides(
    data: dict[str, Any],
    positions: Positions,
    overrides: Sequence[str],
    environ: Mapping[str, str],
) -> None:
    if isinstance(overrides, str):  # a lone "-o" string would otherwise be split into chars
        overrides = [overrides]
    for override in overrides:
        _apply_override(data, positions, override, environ)


# -- includes ------------------------------------------------------------------------------------


def _include_list(value: Any, loc: Loc) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise ConfigError(
        f"expected a list of file names, got {describe(value)}",
        file=loc.file,
        line=loc.line,
        column=loc.column,
        key_path="include",
    )


def _resolve_includes(
    data: dict[str, Any],
    positions: Positions,
    base_dir: str,
    display_dir: str,
    environ: Mapping[str, str],
) -> None:
    if "include" not in data:
        return
    include_loc, _ = positions.locate(("include",))
    files = _include_list(data.pop("include"), include_loc)
    positions.drop(("include",))
    positions.keys.pop(("include",), None)
    positions.values.pop(("include",), None)
    for name in files:
        real = name if os.path.isabs(name) else os.path.join(base_dir, name)
        display = name if os.path.isabs(name) else os.path.join(display_dir, name)
        included, inc_pos = _read_yaml(real, display)
        included = expand_tree(included, environ)
        if included.get("version") != data.get("version"):
            loc, _ = inc_pos.locate(("version",))
            raise ConfigError(
                f"version in included file must be the same as in root "
                f"({describe(data.get('version'))}), got {describe(included.get('version'))}",
                file=loc.file,
                line=loc.line,
                column=loc.column,
                key_path="version",
            )
        if "include" in included:
            loc, _ = inc_pos.locate(("include",), at_key=True)
            raise ConfigError(
                "nested include is not supported: list every file in the root config",
                file=loc.file,
                line=loc.line,
                column=loc.column,
                key_path="include",
            )
        for section, value in included.items():
            if section == "version":
                continue
            data[section] = value
            positions.drop((section,))
            positions.merge(inc_pos, (section,))


# -- validation and error locating ----------------------------------------------------------------


def _flatten(messages: Any, path: Path) -> list[tuple[Path, str]]:
    if isinstance(messages, dict):
        out: list[tuple[Path, str]] = []
        for key, value in messages.items():
            out.extend(_flatten(value, path if key == "_schema" else (*path, key)))
        return out
    if isinstance(messages, list):
        out = []
        for item in messages:
            if isinstance(item, dict | list):
                out.extend(_flatten(item, path))
            else:
                out.append((path, str(item)))
        return out
    return [(path, str(messages))]


def _located_error(exc: ValidationError, positions: Positions, prefix: Path = ()) -> ConfigError:
    found: list[tuple[tuple[int, int, int, int], ConfigError]] = []
    files: dict[str, int] = {positions.root.file: 0}
    for order, (rel_path, message) in enumerate(_flatten(exc.messages, ())):
        path = (*prefix, *rel_path)
        loc, _ = positions.locate(path, at_key=message.startswith(UNKNOWN_KEY))
        rank = files.setdefault(loc.file, len(files))
        error = ConfigError(
            message, file=loc.file, line=loc.line, column=loc.column, key_path=dotted(path)
        )
        found.append(((rank, loc.line or 0, loc.column or 0, order), error))
    found.sort(key=lambda item: item[0])
    first, *rest = (error for _, error in found)
    return ConfigError(
        first.message,
        file=first.file,
        line=first.line,
        column=first.column,
        key_path=first.key_path,
        others=rest,
    )


def _validate(
    data: dict[str, Any],
    positions: Positions,
    *,
    require_version: bool,
    path: str | None,
) -> Config:
    state = LoadState(where=positions.where, require_version=require_version)
    try:
        config = load_root(copy.deepcopy(data), state=state)
    except ValidationError as exc:
        raise _located_error(exc, positions) from None
    return replace(config, path=path, raw=data)


# -- public entry points --------------------------------------------------------------------------


def load_config(
    path: str | os.PathLike[str],
    overrides: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Load and validate a ``.rr.yaml``.

    ``environ`` defaults to ``os.environ``; passing it makes expansion
    reproducible in tests and embedders.  Raises :class:`ConfigError`.
    """
    env = os.environ if environ is None else environ
    display = os.fspath(path)
    data, positions = _read_yaml(display, display)
    data = expand_tree(data, env)
    _apply_overrides(data, positions, overrides, env)
    if "include" in data:
        _resolve_includes(
            data,
            positions,
            os.path.dirname(os.path.abspath(display)),
            os.path.dirname(display),
            env,
        )
        _apply_overrides(
            data, positions, [o for o in _as_list(overrides) if not _is_include(o)], env
        )
    return _validate(data, positions, require_version=True, path=os.path.abspath(display))


def _as_list(overrides: Sequence[str]) -> list[str]:
    return [overrides] if isinstance(overrides, str) else list(overrides)


def _is_include(override: str) -> bool:
    return override.partition("=")[0].strip() == "include"


def config_from_dict(
    data: Mapping[str, Any],
    overrides: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    source: str = "<dict>",
) -> Config:
    """Validate a config built in code (tests, embedding).

    Same rules as a file, except that ``version`` may be omitted (it exists to
    recognise file formats) and values are *not* env-expanded: a program
    that wants ``$VAR`` can read its environment itself; ``-o`` overrides are
    expanded, as on the command line.  ``include`` paths are relative to the
    working directory.  Errors name ``source`` and the key path.
    """
    env = os.environ if environ is None else environ
    if not isinstance(data, Mapping):
        raise ConfigError(f"expected a map of sections, got {describe(data)}", file=source)
    plain = _plain_dict(data)
    positions = Positions(Loc(source))
    _apply_overrides(plain, positions, overrides, env)
    if "include" in plain:
        _resolve_includes(plain, positions, os.getcwd(), "", env)
        _apply_overrides(
            plain, positions, [o for o in _as_list(overrides) if not _is_include(o)], env
        )
    return _validate(plain, positions, require_version=False, path=None)


def parse_pool_config(
    data: Mapping[str, Any], *, source: str = "<pool>", key_prefix: str = "pool"
) -> PoolConfig:
    """Validate one pool section (``{"num_workers": 2, ...}``) for the embedding API.

    ``key_prefix`` only names keys in messages (``jobs.pool.num_workers``).
    """
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"expected a map of pool settings, got {describe(data)}",
            file=source,
            key_path=key_prefix or None,
        )
    prefix: Path = tuple(p for p in key_prefix.split(".") if p)
    positions = Positions(Loc(source))
    state = LoadState(where=positions.where, path=list(prefix))
    try:
        return load_pool(_plain_dict(data), state=state)
    except ValidationError as exc:
        raise _located_error(exc, positions, prefix) from None
