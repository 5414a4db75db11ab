"""The result of one check run, as every output format sees it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from webhook.findings import Action, Finding, Safety
from webhook.loader import InputError, Note
from webhook.model import ObjectRef
from webhook.rules import Rule

if TYPE_CHECKING:  # the editor is loaded by `fix` and by SARIF reports with fixes only
    from webhook.editor import Region


class FailOn:
    DENY = "deny"
    WARN = "warn"
    NEVER = "never"
    CHOICES = (DENY, WARN, NEVER)


class Unread(NamedTuple):
    """A kind of object the run could not read from the cluster (`deployments.apps`), and why."""

    resource: str
    reason: str


@dataclass
class Report:
    findings: list[Finding]
    errors: list[InputError]
    objects: list[tuple[ObjectRef, str | None, int | None]]
    """Every checked object with its file and line (JUnit has one test case per object)."""
    skipped_kinds: Counter[str] = field(default_factory=Counter)
    """Objects of kinds no rule checks, by kind (`Kind`, or `Kind.group` where a checked kind has
    the same name)."""
    fail_on: str = FailOn.DENY
    color: bool = False
    notes: list[Note] = field(default_factory=list)
    """Files skipped (not Kubernetes objects by design), objects replaced."""
    finding_notes: dict[Finding, list[Note]] = field(default_factory=dict)
    """Notes that belong beside a finding: the replacement that changed it."""
    skipped_files: int = 0
    replaced: int = 0
    unread: list[Unread] = field(default_factory=list)
    dropped: int = 0
    """Findings left out because they rest on the absence of objects of a kind not read."""
    rules_run: dict[ObjectRef, list[Rule]] = field(default_factory=dict)
    """The rules that ran on each checked object, kept only for formats that report passes."""
    fix_regions: dict[Finding, tuple[Region, ...]] = field(default_factory=dict)
    """Where each fix changes its file, for formats that show fixes in place (SARIF)."""

    @property
    def skipped(self) -> int:
        return self.skipped_kinds.total()

    def skipped_by_kind(self) -> list[tuple[str, int]]:
        """Most frequent first."""
        return sorted(self.skipped_kinds.items(), key=lambda item: (-item[1], item[0]))

    def counts(self) -> dict[str, int]:
        active = [f for f in self.findings if not f.suppressed]
        return {
            "objects": len(self.objects),
            "deny": sum(f.action is Action.DENY for f in active),
            "warn": sum(f.action is Action.WARN for f in active),
            "suppressed": len(self.findings) - len(active),
        }

    def fixable(self) -> dict[Safety, int]:
        """Findings read from files with a fix that `meshwarden fix` would apply (safe) or apply
        with --unsafe-fixes (unsafe), suppressed ones left out."""
        counts = dict.fromkeys(Safety, 0)
        for finding in self.findings:
            if finding.autofix is not None and finding.file and not finding.suppressed:
                counts[finding.autofix.safety] += 1
        return counts

    def fails(self, finding: Finding) -> bool:
        if finding.suppressed or self.fail_on == FailOn.NEVER:
            return False
        return self.fail_on == FailOn.WARN or finding.action is Action.DENY

    def exit_code(self) -> int:
        if self.errors:
            return 2
        return 1 if any(self.fails(f) for f in self.findings) else 0
