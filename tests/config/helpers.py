"""Shared helpers for the config tests: real files in ``tmp_path``, no mocks."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write(tmp_path: Path, text: str, name: str = "rr.yaml") -> Path:
    """Write a dedented YAML file and return its path (tests read errors against it)."""
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path
