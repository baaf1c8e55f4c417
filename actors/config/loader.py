"""Reading a config: YAML with positions, env expansion, includes, ``-o`` overrides.

The order of a load, and why:

1. Parse the YAML with ruamel's round-trip loader, which records the line and
   column of every key and value; the tree is copied into plain dicts/lists
   plus a table ``key path → position``, so validation errors can point at
   ``file:line:column`` while the schemas only see plain data
   (:mod:`actors.config.yamlfile`, :mod:`actors.config.positions`).
2. Expand ``$VAR`` / ``${VAR:-default}`` in every string (:mod:`actors.config.expand`).
3. Apply ``-o section.key=value`` overrides (value parsed as YAML, so
   ``num_workers=4`` is an int; :mod:`actors.config.overrides`).
4. Resolve ``include: [files]`` (paths relative to the including file); each
   included file must carry the same version and its top-level sections
   replace the root's.  ``-o include=...`` works because overrides run
   before this step; the other overrides are applied *again* afterwards so
   a command-line value always wins (RoadRunner lets includes clobber
   ``-o``, which nobody wants on purpose; :mod:`actors.config.includes`).
5. Validate with the marshmallow schemas (:mod:`actors.config.schema`) and turn
   the first-by-position error (plus the rest, in ``errors``) into a
   :class:`~actors.config.errors.ConfigError` (this module).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from marshmallow import ValidationError

from actors.config.errors import ConfigError, describe
from actors.config.expand import expand_tree
from actors.config.includes import resolve_includes
from actors.config.model import Config, PoolConfig
from actors.config.overrides import apply_overrides, as_list, is_include
from actors.config.positions import Loc, Positions
from actors.config.schema import UNKNOWN_KEY, LoadState, Path, dotted, load_pool, load_root
from actors.config.yamlfile import plain_dict, read_yaml

__all__ = ["config_from_dict", "load_config", "parse_pool_config"]


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
    data, positions = read_yaml(display, display)
    data = expand_tree(data, env)
    apply_overrides(data, positions, overrides, env)
    if "include" in data:
        resolve_includes(
            data,
            positions,
            os.path.dirname(os.path.abspath(display)),
            os.path.dirname(display),
            env,
        )
        apply_overrides(data, positions, [o for o in as_list(overrides) if not is_include(o)], env)
    return _validate(data, positions, require_version=True, path=os.path.abspath(display))


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
    plain = plain_dict(data)
    positions = Positions(Loc(source))
    apply_overrides(plain, positions, overrides, env)
    if "include" in plain:
        resolve_includes(plain, positions, os.getcwd(), "", env)
        apply_overrides(plain, positions, [o for o in as_list(overrides) if not is_include(o)], env)
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
        return load_pool(plain_dict(data), state=state)
    except ValidationError as exc:
        raise _located_error(exc, positions, prefix) from None
