"""The same object given twice: the later replaces the earlier, as a second `kubectl apply` would,
and the findings that the replacement changes say so."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from webhook.findings import Finding
from webhook.inventory import Inventory
from webhook.loader import Note
from webhook.model import ObjectKey, Resource

MAX_RECHECKS = 50_000
"""Per-replacement checks allowed to tell which replacement changed which finding."""


def identity(resource: Resource) -> ObjectKey | None:
    """API group, kind, namespace and name: what kubectl apply matches on (the version does not
    count). None for an object with only `generateName`: each one given is a new object."""
    if not resource.metadata.get("name"):
        return None
    return resource.ref.key


def place(resource: Resource) -> str:
    origin = resource.origin
    if origin is None:
        return "?"
    return f"{origin.file}:{origin.line}" if origin.line else origin.file


class Replacement(NamedTuple):
    earlier: Resource
    later: Resource

    def note(self) -> Note:
        origin = self.later.origin
        return Note(
            origin.file if origin else "?",
            origin.line or None if origin else None,
            f"{self.later.ref} replaces the one at {place(self.earlier)}: the same object given "
            "twice, the later one counts (as with a second kubectl apply)",
        )


def latest(resources: Sequence[Resource]) -> tuple[list[Resource], list[Replacement]]:
    """Each object once, the last one given, in input order; and every replacement made."""
    index: dict[ObjectKey, int] = {}
    kept: list[Resource | None] = []
    replacements: list[Replacement] = []
    for resource in resources:
        key = identity(resource)
        if key is not None:
            if key in index:
                earlier = kept[index[key]]
                assert earlier is not None
                replacements.append(Replacement(earlier, resource))
                kept[index[key]] = None
            index[key] = len(kept)
        kept.append(resource)
    return [r for r in kept if r is not None], replacements


def changed_findings(
    check: Callable[[Resource], list[Finding]],
    inventory: Inventory,
    found: Sequence[tuple[Resource, list[Finding]]],
    replacements: Sequence[Replacement],
) -> dict[Finding, list[Note]]:
    """The findings that would not be there, or not as they are, had the earlier object of a
    replacement been kept: the replacing object's own, and those of objects whose cross rules
    see it. `check` runs the engine on one object against `inventory`, which is restored after."""
    replaced = {id(r.earlier) for r in replacements}
    final = {id(r.later): r for r in replacements if id(r.later) not in replaced}
    notes: dict[Finding, list[Note]] = {}
    others = []
    for resource, findings in found:
        replacement = final.get(id(resource))
        if replacement is None:
            others.append((resource, findings))
            continue
        for finding in findings:
            notes.setdefault(finding, []).append(replacement.note())
    affected = _changed(check, inventory, others, list(final.values()))
    if len(final) == 1 or len(final) * len(affected) > MAX_RECHECKS:
        for _, _, changed in affected:
            for finding in changed:
                notes.setdefault(finding, []).extend(_summary(list(final.values())))
        return notes
    suspects = [(resource, findings) for resource, findings, _ in affected]
    for replacement in final.values():
        for _, _, changed in _changed(check, inventory, suspects, [replacement]):
            for finding in changed:
                notes.setdefault(finding, []).append(replacement.note())
    return notes


def _changed(
    check: Callable[[Resource], list[Finding]],
    inventory: Inventory,
    found: Sequence[tuple[Resource, list[Finding]]],
    replacements: Sequence[Replacement],
) -> list[tuple[Resource, list[Finding], list[Finding]]]:
    """Objects whose findings differ with the earlier objects of `replacements` in the inventory:
    each with its findings, and those of them that the earlier objects would not have given."""
    for replacement in replacements:
        inventory.add(replacement.earlier)
    try:
        differing = []
        for resource, findings in found:
            before = set(check(resource))
            if before != set(findings):
                differing.append((resource, findings, [f for f in findings if f not in before]))
        return differing
    finally:
        for replacement in replacements:
            inventory.add(replacement.later)


def _summary(replacements: Sequence[Replacement]) -> list[Note]:
    if len(replacements) == 1:
        return [replacements[0].note()]
    return [Note("-", None, f"changed by one of {len(replacements)} objects given twice (see the notes)")]
