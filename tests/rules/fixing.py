"""Applying a finding's autofix to the parsed object, with the edit semantics of `findings.Edit`,
to check what rules offer without the file editor."""

from __future__ import annotations

import copy
from typing import Any

from webhook.findings import Autofix, Edit, Finding


def fixed(body: dict[str, Any], *autofixes: Autofix | None) -> dict[str, Any]:
    """A copy of `body` with every edit of the fixes applied; each edit's `old` must be what is there."""
    result = copy.deepcopy(body)
    for autofix in autofixes:
        assert autofix is not None
        for edit in autofix.edits:
            _apply(result, edit)
    return result


def autofix_of(finding: Finding) -> Autofix:
    assert finding.autofix is not None, f"{finding.message_id} at {finding.path} offers no fix"
    return finding.autofix


_ABSENT = object()


def _apply(root: dict[str, Any], edit: Edit) -> None:
    *parents, last = edit.path
    trail: list[tuple[Any, str | int]] = []
    node: Any = root
    for key in parents:
        if isinstance(node, dict) and node.get(key) is None and edit.old is None:
            node[key] = {}  # missing, or empty (`annotations:` with only a comment under it)
        trail.append((node, key))
        node = node[key]
    if isinstance(node, list):
        assert isinstance(last, int)
        current = node[last] if last < len(node) else _ABSENT
    else:
        current = node.get(last, _ABSENT)
    assert (None if current is _ABSENT else current) == edit.old, (edit, current)
    if edit.new is None:
        del node[last]
        for parent, key in reversed(trail):  # a map left empty goes too
            if parent[key] == {}:
                del parent[key]
    elif isinstance(node, list) and last == len(node):
        node.append(copy.deepcopy(edit.new))
    else:
        node[last] = copy.deepcopy(edit.new)
