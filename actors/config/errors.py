"""The single exception type for configuration problems.

A config mistake is the most common way a deployment fails, and the person
fixing it is looking at a YAML file, so every error carries the place in
that file (``file:line:column``) and the dotted key path instead of a
Python traceback.  It subclasses :class:`ValueError` so callers that do not
know about Greenrunner still catch it as "bad input".
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["ConfigError", "describe"]


class ConfigError(ValueError):
    """A configuration file (or dict, or ``-o`` override) that cannot be used.

    Attributes mirror the formatted message so tools (an editor integration,
    the CLI) can jump to the spot without parsing text:

    * ``file``: the path as the user gave it (or ``<dict>``, or the override text);
    * ``line`` / ``column``: 1-based, ``None`` when unknown (dict input);
    * ``key_path``: dotted path such as ``http.pool.num_workers``;
    * ``message``: the bare explanation, without the location prefix;
    * ``errors``: every problem found, this one first, so fixing a file does
      not take one run per mistake.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        key_path: str | None = None,
        others: Sequence[ConfigError] = (),
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.key_path = key_path
        self.errors: list[ConfigError] = [self, *others]
        super().__init__(self._render())

    @property
    def location(self) -> str:
        """``file:line:column`` (as much of it as is known), the editor-friendly prefix."""
        parts = [self.file or "<config>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def _one_line(self) -> str:
        key = f"{self.key_path}: " if self.key_path else ""
        return f"{self.location}: {key}{self.message}"

    def _render(self) -> str:
        lines = [self._one_line()]
        lines.extend(other._one_line() for other in self.errors[1:])
        return "\n".join(lines)

    def __reduce__(self) -> tuple:  # keep the attributes across pickling (multiprocessing, xdist)
        return (
            _rebuild,
            (self.message, self.file, self.line, self.column, self.key_path, self.errors[1:]),
        )


def _rebuild(
    message: str,
    file: str | None,
    line: int | None,
    column: int | None,
    key_path: str | None,
    others: list[ConfigError],
) -> ConfigError:
    return ConfigError(
        message, file=file, line=line, column=column, key_path=key_path, others=others
    )


def describe(value: object) -> str:
    """How a wrong value is quoted in an error: short, and with its YAML type visible."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a map"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57] + "...")
    return f"{type(value).__name__} {value!r}"
