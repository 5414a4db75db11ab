"""Deciding one admission request: which findings deny, which only warn, and why.

Pure apart from the inventory source it is given: no HTTP, no logging, no metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from webhook.engine import Engine
from webhook.findings import Action, Finding, Lookup
from webhook.inventory.source import InventorySource, World
from webhook.model import Body, GroupKind, Resource
from webhook.server.messages import Reported, denial_message, warning_lines
from webhook.server.review import EVALUATED_OPERATIONS, AdmissionRequest, answer

PREEXISTING_NOTE = "not denied: the object already had this before this update"


class Decision(StrEnum):
    ALLOW = "allow"
    WARN = "warn"
    DENY = "deny"
    SKIP = "skip"
    """Allowed without evaluation: DELETE, CONNECT, a subresource, an exempt namespace, an unchecked kind."""
    ERROR = "error"
    """Allowed with a warning because Meshwarden itself failed."""


class Confirmation(StrEnum):
    FOUND = "found"
    ABSENT = "absent"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reported: tuple[Reported, ...] = ()
    suppressed: tuple[Finding, ...] = ()
    notes: tuple[str, ...] = ()
    message: str = ""
    """Why the request was skipped, or the denial message."""
    confirmation: Confirmation | None = None

    @property
    def allowed(self) -> bool:
        return self.decision is not Decision.DENY

    @property
    def warnings(self) -> list[str]:
        return warning_lines(self.notes, self.reported)


def skip_reason(request: AdmissionRequest, resource: Resource | None, engine: Engine) -> str:
    """Why this request is allowed without looking at the object, or "" when it must be checked."""
    if request.operation not in EVALUATED_OPERATIONS:
        return f"{request.operation} is not checked"
    if request.sub_resource:
        return f"subresource {request.sub_resource} is not checked"
    if resource is None or not engine.covers(resource.group_kind):
        return f"kind {GroupKind(request.group, request.kind)} is not checked"
    if engine.policy.is_exempt(resource.namespace):
        return f"namespace {resource.namespace} is exempt"
    return ""


def admit(request: AdmissionRequest, engine: Engine, source: InventorySource) -> Verdict:
    resource = (
        Resource(request.object, request.namespace or "default") if request.object is not None else None
    )
    reason = skip_reason(request, resource, engine)
    if reason or resource is None:
        return Verdict(Decision.SKIP, message=reason)
    world = source.current()
    findings = engine.check(resource, world)
    findings, unconfirmed, confirmation = _confirm_absences(findings, resource, engine, source)
    preexisting = _preexisting(findings, request, engine, world)
    reported: list[Reported] = []
    suppressed: list[Finding] = []
    for finding in findings:
        if finding.suppressed:
            suppressed.append(finding)
        elif finding.action is Action.DENY and finding in unconfirmed:
            reported.append(Reported(finding, Action.WARN, _unconfirmed_note(finding.missing)))
        elif finding.action is Action.DENY and finding in preexisting:
            reported.append(Reported(finding, Action.WARN, PREEXISTING_NOTE))
        else:
            reported.append(Reported(finding, finding.action))
    notes = _notes(resource, engine, world)
    denying = [r for r in reported if r.action is Action.DENY]
    if denying:
        decision, message = Decision.DENY, denial_message(resource.ref, denying)
    else:
        decision, message = (Decision.WARN if reported or notes else Decision.ALLOW), ""
    return Verdict(decision, tuple(reported), tuple(suppressed), notes, message, confirmation)


def response_for(request: AdmissionRequest, verdict: Verdict) -> Body:
    return answer(request, allowed=verdict.allowed, message=verdict.message, warnings=verdict.warnings)


def _confirm_absences(
    findings: list[Finding], resource: Resource, engine: Engine, source: InventorySource
) -> tuple[list[Finding], frozenset[Finding], Confirmation | None]:
    """Before denying because something is missing, asks the source of truth (its cache may lag)."""
    doubtful = [f for f in findings if f.action is Action.DENY and f.missing and not f.suppressed]
    if not doubtful:
        return findings, frozenset(), None
    lookups = tuple(dict.fromkeys(lookup for f in doubtful for lookup in f.missing))
    found = source.confirm(lookups)
    if found is None:
        return findings, frozenset(doubtful), Confirmation.UNAVAILABLE
    if found:
        return engine.check(resource, source.current()), frozenset(), Confirmation.FOUND
    return findings, frozenset(), Confirmation.ABSENT


def _preexisting(
    findings: Sequence[Finding], request: AdmissionRequest, engine: Engine, world: World
) -> frozenset[Finding]:
    """Denying findings the old object already had: an UPDATE must still be able to edit or scale it."""
    denying = [f for f in findings if f.action is Action.DENY and not f.suppressed]
    if request.operation != "UPDATE" or request.old_object is None or not denying:
        return frozenset()
    old = engine.check(Resource(request.old_object, request.namespace or "default"), world)
    by_message = {(f.code, f.message) for f in old}
    by_path = {(f.code, f.path) for f in old}
    return frozenset(f for f in denying if (f.code, f.message) in by_message or (f.code, f.path) in by_path)


def _notes(resource: Resource, engine: Engine, world: World) -> tuple[str, ...]:
    if world.incomplete and any(rule.cross for rule in engine.catalogue.for_kind(resource.group_kind)):
        return (world.incomplete,)
    return ()


def _unconfirmed_note(missing: Sequence[Lookup]) -> str:
    # Kinds of one name read alike (MW301 asks for Istio's Gateway and the Gateway API's): said once.
    what = " or ".join(dict.fromkeys(_describe(lookup) for lookup in missing))
    return f"not denied: could not confirm with the API server that there is no {what}"


def _describe(lookup: Lookup) -> str:
    where = f"{lookup.namespace}/" if lookup.namespace else ""
    kind = lookup.kind.kind
    if lookup.name:
        return f"{kind} {where}{lookup.name}"
    return f"{kind} in namespace {lookup.namespace}" if lookup.namespace else kind
