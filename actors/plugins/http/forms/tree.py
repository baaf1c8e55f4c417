"""PHP-style keys (``a[b][]``) mounted into the JSON trees RoadRunner sends (``handler/parse.go``).

Form fields make the data tree, uploaded files the uploads tree; both follow the Go code rule by
rule, quirks included, because PHP frameworks read ``$_POST``/``$_FILES`` from these shapes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from actors.plugins.http.forms.errors import FormError
from actors.plugins.http.forms.uploads import FileUpload

__all__ = [
    "MAX_LEVEL",
    "build_file_tree",
    "build_tree",
    "split_key",
    "tree_to_json",
    "tree_to_jsonable",
]


#: Keys with more segments than this are dropped silently (``parse.go MaxLevel``).
MAX_LEVEL = 127


def split_key(name: str) -> list[str]:
    """Split a form field name into tree segments, exactly like ``fetchIndexes``.

    ``a[b][c]`` -> ``["a", "b", "c"]``, ``a[]`` -> ``["a", ""]``; spaces are
    dropped anywhere; text after a ``]`` starts a new segment (``a[b]c`` is
    ``a[b][c]``); an unterminated ``[`` still opens a segment.
    """
    keys = [""]
    pos = 0  # 0: inside a segment, 1: just after '[', 2: just after ']'
    for ch in name:
        if ch == " ":
            continue
        if ch == "[":
            pos = 1
            continue
        if ch == "]":
            if pos == 1:
                keys.append("")
            pos = 2
            continue
        if pos:
            keys.append("")
        keys[-1] += ch
        pos = 0
    return keys


# ---------------------------------------------------------------- tree mounting


def _is_empty(value: Any) -> bool:
    """``isDataEmpty``: "", [], [""] and [None] are empty; a subtree or a file is not."""
    if isinstance(value, str):
        return not value
    if isinstance(value, list):
        return not value or (len(value) == 1 and (value[0] == "" or value[0] is None))
    return value is None


def _conflict(key: str) -> FormError:
    return FormError(f"invalid multiple values to key '{key}' in tree")


def _prepare(tree: dict[str, Any], keys: Sequence[str], values: list[Any]) -> bool:
    """``prepareTreeNode``: reconcile what is stored at ``keys[0]`` with the incoming values.

    Returns True when the incoming values must be ignored; raises
    :class:`FormError` on a scalar/branch conflict.
    """
    k0 = keys[0]
    if k0 not in tree:
        tree[k0] = {}
        return False
    current = tree[k0]
    is_branch = isinstance(current, dict)
    current_empty = _is_empty(current)
    incoming_empty = _is_empty(values)
    if not is_branch:
        if not current_empty:
            if len(keys) > 1 and keys[1]:
                raise _conflict(k0)
            if incoming_empty:
                return True
        if current_empty and not incoming_empty:
            tree[k0] = {}
            return False
    elif len(keys) == 1 or (len(keys) == 2 and not keys[1]):
        if not incoming_empty:
            raise _conflict(k0)
        return True
    return False


def _mount(tree: dict[str, Any], keys: list[str], values: list[Any], first: bool) -> None:
    """``dataTree.mount`` / ``fileTree.mount`` without the recursion.

    ``first`` picks the first value for a plain key (files) instead of the
    last (form fields).
    """
    while keys:
        if _prepare(tree, keys, values):
            return
        k0 = keys[0]
        if len(keys) == 2 and not keys[1]:
            tree[k0] = list(values)
            return
        if len(keys) == 1:
            if values:
                tree[k0] = values[0] if first else values[-1]
            else:
                tree[k0] = list(values)
            return
        child = tree[k0]
        if not isinstance(child, dict):
            # Go panics on this path (an empty leaf meeting an empty nested key);
            # an empty object is what the non-empty variant of the same input yields.
            child = tree[k0] = {}
        tree = child
        keys = keys[1:]


def build_tree(fields: Iterable[tuple[str, list[str]]]) -> dict[str, Any]:
    """Mount form fields (name, every value in order) into the data tree.

    Plain key: the last value wins; ``a[]``: the whole list; ``a[b]``: nested
    objects.  Raises :class:`FormError` on conflicting shapes.  Keys with more
    than :data:`MAX_LEVEL` segments are dropped, as RoadRunner does.
    """
    tree: dict[str, Any] = {}
    for name, values in fields:
        keys = split_key(name)
        if len(keys) <= MAX_LEVEL:
            _mount(tree, keys, list(values), first=False)
    return tree


def build_file_tree(files: Iterable[tuple[str, list[FileUpload]]]) -> dict[str, Any]:
    """Mount uploaded files into RoadRunner's ``uploads`` tree: like :func:`build_tree`,
    except that a plain key with several files keeps the **first** one."""
    tree: dict[str, Any] = {}
    for name, uploads in files:
        keys = split_key(name)
        if len(keys) <= MAX_LEVEL:
            _mount(tree, keys, list(uploads), first=True)
    return tree


def tree_to_jsonable(tree: Any) -> Any:
    """Turn a data or file tree into plain JSON values, object keys sorted.

    Go's ``encoding/json`` sorts map keys; a :class:`FileUpload` keeps its
    struct field order, which ``json.dumps(sort_keys=True)`` would break,
    hence this walk instead.
    """
    if isinstance(tree, dict):
        return {k: tree_to_jsonable(tree[k]) for k in sorted(tree)}
    if isinstance(tree, list):
        return [tree_to_jsonable(v) for v in tree]
    if isinstance(tree, FileUpload):
        return tree.to_json()
    return tree


def tree_to_json(tree: Any) -> bytes:
    """Compact JSON bytes of a tree (sorted keys, UTF-8 like Go's encoder)."""
    return json.dumps(tree_to_jsonable(tree), separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8", "replace"
    )
