"""The rule type and the `@rule` decorator: a rule's metadata lives beside its check."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from textwrap import dedent
from typing import TYPE_CHECKING, Any

from webhook.findings import Action, Violation
from webhook.kinds import DEPLOYMENT
from webhook.model import GroupKind, Resource

if TYPE_CHECKING:
    from webhook.context import Context

Check = Callable[[Resource, "Context"], Iterable[Violation]]

DOCS_BASE = "https://github.com/meshwarden/meshwarden/blob/main/docs/rules.md"


@dataclass(frozen=True, eq=False)
class Rule:
    code: str
    name: str
    kinds: frozenset[GroupKind]
    default: Action
    cross: bool
    summary: str
    why: str
    fix: str
    bad: str
    good: str
    check: Check
    options: Mapping[str, Any]

    @property
    def docs(self) -> str:
        return f"{DOCS_BASE}#{self.code.lower()}-{self.name}"

    @property
    def covers_templates(self) -> bool:
        return DEPLOYMENT in self.kinds


def rule(
    *,
    code: str,
    name: str,
    kinds: Iterable[GroupKind],
    default: Action,
    summary: str,
    why: str,
    fix: str,
    bad: str,
    good: str,
    cross: bool = False,
    options: Mapping[str, Any] | None = None,
) -> Callable[[Check], Rule]:
    """Declares a rule: its metadata (what `rules`, `explain` and docs/rules.md show) and its check.

    `options` are the rule's policy options with their defaults; the policy file may override them.
    """

    def register(check: Check) -> Rule:
        return Rule(
            code=code,
            name=name,
            kinds=frozenset(kinds),
            default=default,
            cross=cross,
            summary=dedent(summary).strip(),
            why=dedent(why).strip(),
            fix=dedent(fix).strip(),
            bad=dedent(bad).strip() + "\n",
            good=dedent(good).strip() + "\n",
            check=check,
            options=dict(options or {}),
        )

    return register
