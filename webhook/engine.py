"""The engine: runs the rules that apply to an object and turns violations into findings.

Pure: no I/O. The CLI and the admission server are adapters around `Engine.check`, which they hand
the World of one run or one review.
"""

from __future__ import annotations

import fnmatch
import traceback
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from webhook.findings import (
    INTERNAL_ERROR_CODE,
    INTERNAL_ERROR_MESSAGE,
    INTERNAL_ERROR_NAME,
    Action,
    Finding,
    Violation,
)
from webhook.inventory import InventoryView, World
from webhook.istio.mesh import MeshFacts
from webhook.kinds import POD_KINDS
from webhook.kube import is_controller_managed
from webhook.model import GroupKind, Resource
from webhook.policy import Policy, Resolved
from webhook.rules import CATALOGUE, Catalogue, Rule
from webhook.rules.facts import Facts

SUPPRESS_ANNOTATION = "meshwarden.io/suppress"
SUPPRESS_REASON_ANNOTATION = "meshwarden.io/suppress-reason"


class UndeclaredMessageError(Exception):
    """A rule said something its declaration does not list: a bug in the rule."""


class RunSuppression(NamedTuple):
    """`--suppress RULE[=Kind/namespace/name]`, with `*` wildcards in the object part. `Kind` is a
    kind the rule checks, by name (`Gateway`: the only Gateway rules check is Istio's) or as
    `Kind.group` (`Gateway.networking.istio.io`)."""

    rule: Rule
    pattern: str = "*/*/*"

    @classmethod
    def parse(cls, text: str, catalogue: Catalogue = CATALOGUE) -> RunSuppression:
        code, _, target = text.partition("=")
        found = catalogue.find(code)
        if found is None:
            raise ValueError(f"--suppress {text!r}: no rule has the code or name {code!r}")
        if target and target.count("/") != 2:
            raise ValueError(f"--suppress {text!r}: the object part must be Kind/namespace/name")
        kind = target.partition("/")[0]
        if kind and not any(fnmatch.fnmatchcase(name, kind) for k in found.kinds for name in _names(k)):
            checked = ", ".join(sorted(k.kind for k in found.kinds))
            raise ValueError(
                f"--suppress {text!r}: {found.code} checks no kind {kind!r} (it checks {checked})"
            )
        return cls(found, target or "*/*/*")

    def covers(self, rule: Rule, resource: Resource) -> bool:
        if rule is not self.rule:
            return False
        ref = resource.ref
        return any(
            fnmatch.fnmatchcase(f"{name}/{ref.namespace}/{ref.name}", self.pattern)
            for name in _names(ref.group_kind)
        )


def _names(kind: GroupKind) -> tuple[str, ...]:
    """How a suppression may name a kind: `Kind`, or `Kind.group` outside the core group."""
    return (kind.kind, str(kind)) if kind.group else (kind.kind,)


class RuleContext:
    """The rules' Context for one evaluation: the world's inventory, the policy's mesh facts and
    rule options, and the facts of the objects checked, each derived once."""

    __slots__ = ("_facts", "inventory", "policy")

    def __init__(self, inventory: InventoryView, policy: Policy):
        self.inventory = inventory
        self.policy = policy
        self._facts: dict[Resource, Facts] = {}

    @property
    def mesh(self) -> MeshFacts:
        return self.policy.mesh

    def options(self, rule: Rule) -> Mapping[str, Any]:
        return self.policy.rule_options(rule)

    def facts(self, resource: Resource) -> Facts:
        found = self._facts.get(resource)
        if found is None:
            found = self._facts[resource] = Facts(resource, self.inventory, self.policy.mesh)
        return found


class Engine:
    def __init__(
        self, policy: Policy, catalogue: Catalogue = CATALOGUE, suppressions: Sequence[RunSuppression] = ()
    ):
        self.policy = policy
        self.catalogue = catalogue
        self.suppressions = tuple(suppressions)
        self._dispatch = {kind: catalogue.for_kind(kind) for kind in catalogue.kinds}

    def covers(self, kind: GroupKind) -> bool:
        return kind in self._dispatch

    def check(self, resource: Resource, world: World) -> list[Finding]:
        """Findings for one object. Cross rules run only when the world is complete."""
        runs = self._runs(resource, world)
        if not runs:
            return []
        context = RuleContext(world.inventory, self.policy)
        suppressed: tuple[set[str], str] | None = None
        findings: list[Finding] = []
        for rule, resolved in runs:
            try:
                violations = list(rule.check(resource, context))
                if violations:
                    _require_declared(rule, violations)
            except Exception as exc:  # one broken rule must not take the others down
                findings.append(_internal_error(rule, resource, exc))
                continue
            if not violations:
                continue
            if suppressed is None:  # read once, and only when a rule has something to say
                suppressed = _annotation_suppressions(context.facts(resource))
            is_suppressed = self._is_suppressed(rule, resource, suppressed)
            managed = (
                rule.covers_templates and resource.group_kind in POD_KINDS and is_controller_managed(resource)
            )
            for violation in violations:
                action = resolved.action
                if (violation.weak and not resolved.strict) or managed:
                    action = Action.WARN
                findings.append(_finding(rule, resource, violation, action, is_suppressed, suppressed))
        return findings

    def rules_run(self, resource: Resource, world: World) -> list[Rule]:
        """The rules `check` runs on the object: those of its kind, unless its namespace is exempt,
        the policy turns them off there, or they are cross rules and the world is incomplete."""
        return [rule for rule, _ in self._runs(resource, world)]

    def _runs(self, resource: Resource, world: World) -> tuple[tuple[Rule, Resolved], ...]:
        rules = self._dispatch.get(resource.group_kind, ())
        return _runs(rules, self.policy, resource.namespace, world.complete) if rules else ()

    def check_all(self, resources: Iterable[Resource], world: World) -> list[Finding]:
        return [f for r in resources for f in self.check(r, world)]

    def _is_suppressed(self, rule: Rule, resource: Resource, by_annotation: tuple[set[str], str]) -> bool:
        names, _ = by_annotation
        if "*" in names or rule.code.lower() in names or rule.name in names:
            return True
        return any(s.covers(rule, resource) for s in self.suppressions)


# The same few kinds and namespaces recur on every review: each is resolved once.
@lru_cache(maxsize=4096)
def _runs(
    rules: tuple[Rule, ...], policy: Policy, namespace: str, complete: bool
) -> tuple[tuple[Rule, Resolved], ...]:
    if policy.is_exempt(namespace):
        return ()
    runs = []
    for rule in rules:
        if rule.cross and not complete:
            continue
        resolved = policy.resolve(rule, namespace)
        if resolved.action is not Action.OFF:
            runs.append((rule, resolved))
    return tuple(runs)


def _require_declared(rule: Rule, violations: list[Violation]) -> None:
    for violation in violations:
        if violation.message_id not in rule.messages:
            raise UndeclaredMessageError(
                f"message {violation.message_id!r} is not one of {rule.code}'s ({', '.join(rule.messages)})"
            )
        autofix = violation.autofix
        if autofix is not None and rule.fixes.get(violation.message_id) is not autofix.safety:
            raise UndeclaredMessageError(
                f"{rule.code}/{violation.message_id} carries a fix ({autofix.safety}) its declaration "
                f"does not list ({rule.fixes.get(violation.message_id) or 'no fix'})"
            )


def _annotation_suppressions(facts: Facts) -> tuple[set[str], str]:
    """Codes or names in `meshwarden.io/suppress`, on the object or (for a workload) its template."""
    sources = [facts.annotations]
    template = facts.pod
    if template is not None and template.is_template:
        sources.append(template.annotations)
    names: set[str] = set()
    reason = ""
    for source in sources:
        names.update(n.strip().lower() for n in source.get(SUPPRESS_ANNOTATION, "").split(",") if n.strip())
        reason = reason or source.get(SUPPRESS_REASON_ANNOTATION, "")
    return names, reason


def _finding(
    rule: Rule,
    resource: Resource,
    violation: Violation,
    action: Action,
    suppressed: bool,
    by_annotation: tuple[set[str], str],
) -> Finding:
    origin = resource.origin
    return Finding(
        code=rule.code,
        message_id=rule.message_id(violation.message_id),
        rule=rule.name,
        action=action,
        object=resource.ref,
        path=violation.path,
        message=violation.message,
        fix=violation.fix,
        docs=rule.docs,
        file=origin.file if origin else None,
        line=origin.line_of(violation.path) if origin else None,
        suppressed=suppressed,
        suppress_reason=by_annotation[1] if suppressed else "",
        missing=violation.missing,
        autofix=violation.autofix,
    )


def _internal_error(rule: Rule, resource: Resource, exc: Exception) -> Finding:
    where = traceback.extract_tb(exc.__traceback__)[-1]
    origin = resource.origin
    return Finding(
        code=INTERNAL_ERROR_CODE,
        message_id=f"{INTERNAL_ERROR_CODE}/{INTERNAL_ERROR_MESSAGE}",
        rule=INTERNAL_ERROR_NAME,
        action=Action.WARN,
        object=resource.ref,
        path="",
        message=(
            f"rule {rule.code} ({rule.name}) failed on {resource.ref}: "
            f"{type(exc).__name__}: {exc} at {where.filename.rsplit('/', 1)[-1]}:{where.lineno}"
        ),
        fix="this is a Meshwarden bug; please report it with the object. The other rules still ran",
        docs=rule.docs,
        file=origin.file if origin else None,
        line=origin.line if origin else None,
    )
