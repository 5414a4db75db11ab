"""Each rule family says exactly the messages its rules declare.

The engine turns a message its rule did not declare into an internal error when it is said; this
reads the rule modules, so that an undeclared message fails before any input reaches it, and a
declared message that nothing says any more is found too. Message ids are written as literals:
`message_id="not-a-duration"` (in a Violation, or in a helper's result), or assigned to a variable
named `message_id`.
"""

from __future__ import annotations

import ast
from pathlib import Path
from types import ModuleType

import pytest

from webhook.rules import CATALOGUE, FAMILIES


def _ids_in(value: ast.expr) -> set[str]:
    """The ids of `"id"` or `"a" if ... else "b"`; none of a value passed on (`problem.message_id`)."""
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return {value.value}
    if isinstance(value, ast.IfExp):
        return _ids_in(value.body) | _ids_in(value.orelse)
    return set()


def said(family: ModuleType) -> tuple[set[str], list[str]]:
    """The message ids the module's code writes, and its Violations that name none."""
    assert family.__file__ is not None
    tree = ast.parse(Path(family.__file__).read_text(encoding="utf-8"))
    ids: set[str] = set()
    unnamed = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Violation":
            if not any(k.arg == "message_id" for k in node.keywords):
                unnamed.append(f"line {node.lineno}: a Violation without message_id")
        elif (isinstance(node, ast.keyword) and node.arg == "message_id") or (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "message_id" for t in node.targets)
        ):
            ids |= _ids_in(node.value)
    return ids, unnamed


@pytest.mark.parametrize("family", FAMILIES, ids=lambda m: m.__name__.rpartition(".")[2])
def test_a_family_says_exactly_the_messages_its_rules_declare(family: ModuleType) -> None:
    declared = {m for r in CATALOGUE if r.check.__module__ == family.__name__ for m in r.messages}
    ids, unnamed = said(family)
    assert not unnamed
    assert sorted(ids - declared) == [], "said but not declared in any @rule(messages=...) of the module"
    assert sorted(declared - ids) == [], "declared but never said"


def test_message_ids_are_unique_across_rules_with_the_code() -> None:
    qualified = [r.message_id(m) for r in CATALOGUE for m in r.messages]
    assert len(qualified) == len(set(qualified))
    assert all(q.startswith("MW") and q.count("/") == 1 for q in qualified)


def test_the_catalogue_has_a_message_for_each_distinct_thing_a_rule_says() -> None:
    """MW309 says ten different things; every rule says at least one."""
    counts = {r.code: len(r.messages) for r in CATALOGUE}
    assert counts["MW309"] == 10
    assert min(counts.values()) >= 1
