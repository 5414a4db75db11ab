"""The rule type and the `@rule` decorator: a rule's metadata lives beside its check."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from textwrap import dedent
from typing import Any, Protocol

from webhook.findings import Action, Violation
from webhook.inventory import InventoryView
from webhook.inventory.detail import Detail
from webhook.istio.mesh import MeshFacts
from webhook.kinds import DEPLOYMENT
from webhook.model import GroupKind, Resource


class Context(Protocol):
    """What a rule's check may read besides the object, read-only: the inventory (only the inputs
    the rule declares), the mesh facts, and the rule's options."""

    @property
    def inventory(self) -> InventoryView: ...

    @property
    def mesh(self) -> MeshFacts: ...

    def options(self, rule: Rule) -> Mapping[str, Any]: ...


Check = Callable[[Resource, Context], Iterable[Violation]]

DOCS_BASE = "https://github.com/meshwarden/meshwarden/blob/main/docs/rules.md"


@dataclass(frozen=True, slots=True)
class Input:
    """A kind a rule reads from the inventory, and how much of each object it reads.

    A rule with a required input is a cross rule: it concludes from what the inventory holds, so
    it runs only when the inventory is complete. An optional input only refines a rule that is
    sound without it (unknown namespace labels fall back on `mesh.assumeInjected`).
    """

    kind: GroupKind
    detail: Detail
    optional: bool = False

    def __str__(self) -> str:
        return f"{self.kind} ({self.detail}{', optional' if self.optional else ''})"


@dataclass(frozen=True, eq=False)
class Rule:
    code: str
    name: str
    kinds: frozenset[GroupKind]
    default: Action
    inputs: tuple[Input, ...]
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

    @property
    def cross(self) -> bool:
        return any(not i.optional for i in self.inputs)


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
    inputs: Iterable[Input] = (),
    options: Mapping[str, Any] | None = None,
) -> Callable[[Check], Rule]:
    """Declares a rule: its metadata (what `rules`, `explain` and docs/rules.md show) and its check.

    `inputs` are the kinds the check reads from the inventory (whatever the lookup), each at the
    detail it reads; the live inventory watches exactly these, and a test fails when a check reads
    anything else. `options` are the rule's policy options with their defaults; the policy file may
    override them.
    """

    def register(check: Check) -> Rule:
        return Rule(
            code=code,
            name=name,
            kinds=frozenset(kinds),
            default=default,
            inputs=tuple(inputs),
            summary=dedent(summary).strip(),
            why=dedent(why).strip(),
            fix=dedent(fix).strip(),
            bad=dedent(bad).strip() + "\n",
            good=dedent(good).strip() + "\n",
            check=check,
            options=dict(options or {}),
        )

    return register
