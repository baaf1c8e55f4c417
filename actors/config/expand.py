"""Environment-variable expansion of config values.

RoadRunner expands ``$VAR``, ``${VAR}`` and ``${VAR:-default}`` in every
string of the config after reading the YAML (and in ``-o`` values), so
configs written for it rely on that to inject ports, commands and secrets.
Greenrunner implements the useful part of that contract and deliberately
drops the accidents of RoadRunner's expander:

* ``${VAR:-default}`` uses the default when ``VAR`` is unset **or empty**
  (same as RR and POSIX shells); the default is itself expanded, so
  ``${PORT:-${FALLBACK_PORT}}`` works.
* An unset variable without default expands to ``""`` (same as RR).
* RR empties the *whole value* when ``:-`` appears anywhere in it next to a
  plain ``${VAR}`` (``"a ${SET} b:-c"`` becomes ``""``).  That is a parser
  bug nobody can rely on on purpose, so here each ``${...}`` is expanded on
  its own and the rest of the text is left alone.
* ``$$`` is a literal ``$`` (RR turns it into ``""``), the only way to write
  a dollar sign followed by a name.
* A ``$`` not followed by a name or ``{`` (``$5``, ``$ 1``, a trailing
  ``$``) is kept as is instead of RR's "empty special variable"; an
  unterminated ``${`` or an unsupported form (``${X:=y}``) is also kept
  literally, so a password containing ``$`` survives.

Only values are expanded, never mapping keys, and only strings: numbers and
booleans stay typed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["expand_env", "expand_tree"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _closing_brace(text: str, start: int) -> int:
    """Index of the ``}`` matching the ``{`` at ``start``, or -1; nested braces count."""
    depth = 0
    for index in range(start, len(text)):
        char = text[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
    return -1


def expand_env(text: str, environ: Mapping[str, str]) -> str:
    """Expand variables in one string; ``environ`` is passed explicitly so tests and
    embedders can expand against a controlled environment instead of ``os.environ``."""
    if "$" not in text:
        return text
    out: list[str] = []
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char != "$" or index + 1 >= length:
            out.append(char)
            index += 1
            continue
        nxt = text[index + 1]
        if nxt == "$":
            out.append("$")
            index += 2
            continue
        if nxt == "{":
            end = _closing_brace(text, index + 1)
            if end < 0:
                out.append(text[index:])
                break
            inner = text[index + 2 : end]
            name, sep, default = inner.partition(":-")
            if _NAME.fullmatch(name):
                value = environ.get(name, "")
                if sep and value == "":
                    value = expand_env(default, environ)
                out.append(value)
            else:
                out.append(text[index : end + 1])
            index = end + 1
            continue
        match = _NAME.match(text, index + 1)
        if match is None:
            out.append("$")
            index += 1
            continue
        out.append(environ.get(match.group(), ""))
        index = match.end()
    return "".join(out)


def expand_tree(data: Any, environ: Mapping[str, str]) -> Any:
    """Return a copy of a loaded YAML tree with every string value expanded."""
    if isinstance(data, str):
        return expand_env(data, environ)
    if isinstance(data, dict):
        return {key: expand_tree(value, environ) for key, value in data.items()}
    if isinstance(data, list):
        return [expand_tree(item, environ) for item in data]
    return data
