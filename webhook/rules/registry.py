"""The rule type and the `@rule` decorator: a rule's metadata lives beside its check."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from textwrap import dedent
from typing import Any, NamedTuple, Protocol

from webhook.findings import Action, Safety, Violation
from webhook.inventory import InventoryView
from webhook.inventory.detail import Detail
from webhook.istio.mesh import MeshFacts
from webhook.kinds import DEPLOYMENT
from webhook.model import GroupKind, Resource
from webhook.rules.facts import Facts


class Context(Protocol):
    """What a rule's check may read besides the object, read-only: the inventory (only the inputs
    the rule declares), the mesh facts, the rule's options, and the facts of the object, shared
    by the rules of one evaluation."""

    @property
    def inventory(self) -> InventoryView: ...

    @property
    def mesh(self) -> MeshFacts: ...

    def options(self, rule: Rule) -> Mapping[str, Any]: ...

    def facts(self, resource: Resource) -> Facts: ...


Check = Callable[[Resource, Context], Iterable[Violation]]

DOCS_BASE = "https://github.com/meshwarden/meshwarden/blob/main/docs/rules.md"
MESSAGE_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class Input(NamedTuple):
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
    messages: Mapping[str, str]
    summary: str
    why: str
    fix: str
    bad: str
    good: str
    check: Check
    options: Mapping[str, Any]
    fixes: Mapping[str, Safety]

    @functools.cached_property
    def docs(self) -> str:
        """Its section of the rule reference: one string, however many findings carry it."""
        return f"{DOCS_BASE}#{self.code.lower()}-{self.name}"

    def message_id(self, message: str) -> str:
        """A message's id as outputs show it: `MW309/not-a-duration`."""
        return f"{self.code}/{message}"

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
    messages: Mapping[str, str],
    summary: str,
    why: str,
    fix: str,
    bad: str,
    good: str,
    inputs: Iterable[Input] = (),
    options: Mapping[str, Any] | None = None,
    fixes: Mapping[str, Safety] | None = None,
) -> Callable[[Check], Rule]:
    """Declares a rule: its metadata (what `rules`, `explain` and docs/rules.md show) and its check.

    `messages` are the things the check can say, as Istio's message catalogue lists them: a stable
    id (lowercase words joined by `-`) and one line on when it is said. Every Violation the check
    yields names one of these ids; the engine refuses any other.
    `inputs` are the kinds the check reads from the inventory (whatever the lookup), each at the
    detail it reads; the live inventory watches exactly these, and a test fails when a check reads
    anything else. `options` are the rule's policy options with their defaults; the policy file may
    override them. `fixes` names the messages whose violations may carry an exact fix, and whether
    that fix is safe; the engine refuses a fix on any other message or of another safety.
    """

    if not messages:
        raise ValueError(f"{code} declares no messages")
    for message, said_when in messages.items():
        if not MESSAGE_ID.match(message) or not said_when.strip() or "\n" in said_when:
            raise ValueError(
                f"{code}: message {message!r} needs an id of lowercase words joined by '-' "
                "and a one-line description"
            )
    for message in fixes or {}:
        if message not in messages:
            raise ValueError(f"{code}: fixes names {message!r}, which is not one of its messages")

    def register(check: Check) -> Rule:
        return Rule(
            code=code,
            name=name,
            kinds=frozenset(kinds),
            default=default,
            inputs=tuple(inputs),
            messages=dict(messages),
            summary=dedent(summary).strip(),
            why=dedent(why).strip(),
            fix=dedent(fix).strip(),
            bad=dedent(bad).strip() + "\n",
            good=dedent(good).strip() + "\n",
            check=check,
            options=dict(options or {}),
            fixes=dict(fixes or {}),
        )

    return register
