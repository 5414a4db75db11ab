"""Compiler-style text: `file:line: deny MW305 Kind ns/name path: message`, then the fix."""

from __future__ import annotations

from webhook.findings import Finding
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


def format_finding(finding: Finding, color: bool = False) -> str:
    ref = finding.object
    obj = f"{ref.kind} {ref.namespace}/{ref.name}" if ref.namespace else f"{ref.kind} {ref.name}"
    path = f" {finding.path}" if finding.path else ""
    head = (
        f"{_location(finding)}{_paint(str(finding.action), str(finding.action), color)} "
        f"{_paint(finding.code, 'bold', color)} {obj}{path}: {finding.message}"
    )
    return f"{head}\n    {_paint('fix:', 'dim', color)} {finding.fix}"


def render(report: Report) -> str:
    lines = [format_finding(f, report.color) for f in report.findings if not f.suppressed]
    counts = report.counts()
    parts = [
        f"{counts['objects']} object{'s' if counts['objects'] != 1 else ''} checked",
        f"{counts['deny']} deny",
        f"{counts['warn']} warn",
        f"{counts['suppressed']} suppressed",
    ]
    if report.skipped:
        parts.append(f"{report.skipped} skipped (kinds Meshwarden does not check)")
    if report.errors:
        parts.append(f"{len(report.errors)} input error{'s' if len(report.errors) != 1 else ''}")
    if report.unread:
        names = ", ".join(u.resource for u in report.unread)
        lines.append(f"not read (the API forbade listing them): {names}")
        parts.append(f"{len(report.unread)} kind{'s' if len(report.unread) != 1 else ''} not read")
        parts.append(f"{report.dropped} finding{'s' if report.dropped != 1 else ''} dropped (rest on them)")
    lines.append(", ".join(parts))
    return "\n".join(lines) + "\n"
