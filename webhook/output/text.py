"""Compiler-style text: `file:line: deny MW305 Kind ns/name path: message`, then the fix."""

from __future__ import annotations

from collections.abc import Sequence

from webhook.findings import Finding, Safety
from webhook.loader import Note
from webhook.output.report import Report

_COLORS = {
    "deny": "\033[1;31m",
    "warn": "\033[1;33m",
    "dim": "\033[2m",
    "bold": "\033[1m",
    "reset": "\033[0m",
}


def _paint(text: str, style: str, color: bool) -> str:
    return f"{_COLORS[style]}{text}{_COLORS['reset']}" if color else text


def _location(finding: Finding) -> str:
    if finding.file is None:
        return ""
    return f"{finding.file}:{finding.line}: " if finding.line else f"{finding.file}: "


def format_finding(finding: Finding, color: bool = False, notes: Sequence[Note] = ()) -> str:
    ref = finding.object
    obj = f"{ref.kind} {ref.namespace}/{ref.name}" if ref.namespace else f"{ref.kind} {ref.name}"
    path = f" {finding.path}" if finding.path else ""
    safe = finding.autofix is not None and finding.autofix.safety is Safety.SAFE
    fixable = " [*]" if safe and finding.file else ""
    head = (
        f"{_location(finding)}{_paint(str(finding.action), str(finding.action), color)} "
        f"{_paint(finding.code, 'bold', color)}{fixable} {obj}{path}: {finding.message}"
    )
    lines = [head, f"    {_paint('fix:', 'dim', color)} {finding.fix}"]
    lines += [f"    {_paint('note:', 'dim', color)} {note.message}" for note in notes]
    return "\n".join(lines)


def render(report: Report) -> str:
    lines = [
        format_finding(f, report.color, report.finding_notes.get(f, ()))
        for f in report.findings
        if not f.suppressed
    ]
    counts = report.counts()
    parts = [
        f"{counts['objects']} object{'s' if counts['objects'] != 1 else ''} checked",
        f"{counts['deny']} deny",
        f"{counts['warn']} warn",
        f"{counts['suppressed']} suppressed",
    ]
    if report.skipped:
        kinds = ", ".join(f"{kind} {count}" for kind, count in report.skipped_by_kind())
        parts.append(f"{report.skipped} skipped ({kinds})")
    if report.skipped_files:
        parts.append(f"{report.skipped_files} file{'s' if report.skipped_files != 1 else ''} skipped")
    if report.replaced:
        parts.append(f"{report.replaced} replaced")
    if report.errors:
        parts.append(f"{len(report.errors)} input error{'s' if len(report.errors) != 1 else ''}")
    if report.unread:
        names = ", ".join(u.resource for u in report.unread)
        lines.append(f"not read (the API forbade listing them): {names}")
        parts.append(f"{len(report.unread)} kind{'s' if len(report.unread) != 1 else ''} not read")
    if report.unread or report.dropped:
        parts.append(
            f"{report.dropped} finding{'s' if report.dropped != 1 else ''} dropped (they rest on the absence "
            "of objects not read)"
        )
    lines.append(", ".join(parts))
    fixable = report.fixable()
    safe, unsafe = fixable[Safety.SAFE], fixable[Safety.UNSAFE]
    if safe:
        more = f" ({unsafe} more with --unsafe-fixes)" if unsafe else ""
        lines.append(f"[*] {safe} fixable with `meshwarden fix`{more}")
    elif unsafe:
        lines.append(f"{unsafe} fixable with `meshwarden fix --unsafe-fixes`")
    return "\n".join(lines) + "\n"
