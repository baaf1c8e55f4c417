"""``include: [files]``: RoadRunner's way of splitting a config over several files.

Paths are relative to the including file; each included file must carry the
same ``version`` and its top-level sections replace the root's; nesting is
refused (list every file in the root config).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from actors.config.errors import ConfigError, describe
from actors.config.expand import expand_tree
from actors.config.positions import Loc, Positions
from actors.config.yamlfile import read_yaml

__all__ = ["resolve_includes"]


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


def resolve_includes(
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
        included, inc_pos = read_yaml(real, display)
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
