"""Where each key and value of a config was written, so errors can say ``file:line:column``.

The schemas only see plain data; this table, filled while the YAML is read
(and updated by ``-o`` overrides and includes), maps a key path back to the
text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from actors.config.schema.paths import Path

__all__ = ["Loc", "Positions"]


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
