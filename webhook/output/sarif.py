"""SARIF 2.1.0, one rule per code, fit for GitHub code scanning."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from webhook import __version__
from webhook.findings import Action, Autofix, Finding
from webhook.inputs import shown_path
from webhook.loader import Note
from webhook.output.report import Report
from webhook.rules import CATALOGUE

if TYPE_CHECKING:  # the editor is loaded by `fix` and by SARIF reports with fixes only
    from webhook.editor import Region

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {Action.DENY: "error", Action.WARN: "warning"}


def _rules() -> list[dict[str, Any]]:
    return [
        {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary.splitlines()[0]},
            "fullDescription": {"text": " ".join(rule.summary.split())},
            "help": {"text": f"{' '.join(rule.why.split())}\n\nFix: {' '.join(rule.fix.split())}"},
            "helpUri": rule.docs,
            "defaultConfiguration": {"level": _LEVELS.get(rule.default, "warning")},
        }
        for rule in CATALOGUE
    ]


def _location(file: str, line: int | None) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": {"uri": shown_path(file)}}
    if line:
        location["region"] = {"startLine": line}
    return {"physicalLocation": location}


def _result(
    finding: Finding,
    index: dict[str, int],
    notes: Sequence[Note],
    fix_regions: Mapping[Finding, tuple[Region, ...]],
) -> dict[str, Any]:
    ref = finding.object
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "level": _LEVELS.get(finding.action, "warning"),
        "message": {"text": f"{ref} {finding.path}: {finding.message}. Fix: {finding.fix}"},
        "properties": {
            "messageId": finding.message_id,
            "object": str(ref),
            "path": finding.path,
            "action": str(finding.action),
        },
    }
    if finding.code in index:
        result["ruleIndex"] = index[finding.code]
    if finding.file:
        result["locations"] = [_location(finding.file, finding.line)]
    if notes:
        result["message"]["text"] += "".join(f" Note: {note.message}." for note in notes)
        result["relatedLocations"] = [
            {"id": i, **_location(note.file, note.line), "message": {"text": note.message}}
            for i, note in enumerate(notes, 1)
        ]
    if finding.suppressed:
        result["suppressions"] = [{"kind": "inSource"}]
    regions = fix_regions.get(finding)
    if finding.autofix is not None and finding.file and regions:
        result["fixes"] = [_fix(finding.autofix, finding.file, regions)]
    return result


def _fix(autofix: Autofix, file: str, regions: tuple[Region, ...]) -> dict[str, Any]:
    replacements = [
        {
            "deletedRegion": {
                "startLine": r.start_line,
                "startColumn": r.start_column,
                "endLine": r.end_line,
                "endColumn": r.end_column,
            },
            "insertedContent": {"text": r.text},
        }
        for r in regions
    ]
    return {
        "description": {"text": f"{autofix.title} ({autofix.safety} fix)"},
        "artifactChanges": [{"artifactLocation": {"uri": shown_path(file)}, "replacements": replacements}],
    }


def _unread_notes(report: Report) -> list[dict[str, Any]]:
    notes = [
        {"level": "warning", "message": {"text": f"{u.resource} not read: {u.reason}"}} for u in report.unread
    ]
    if report.dropped:
        text = f"{report.dropped} findings left out: they rest on the absence of objects not read"
        notes.append({"level": "note", "message": {"text": text}})
    return notes


def render(report: Report) -> bytes:
    rules = _rules()
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    run = {
        "tool": {
            "driver": {
                "name": "meshwarden",
                "version": __version__,
                "rules": rules,
                "informationUri": "https://github.com/meshwarden/meshwarden",
            }
        },
        "results": [
            _result(f, index, report.finding_notes.get(f, ()), report.fix_regions) for f in report.findings
        ],
        "columnKind": "unicodeCodePoints",
        "invocations": [
            {
                "executionSuccessful": not report.errors,
                "toolExecutionNotifications": [
                    {"level": level, "message": {"text": n.message}, "locations": [_location(n.file, n.line)]}
                    for level, notices in (("error", report.errors), ("note", report.notes))
                    for n in notices
                ]
                + _unread_notes(report),
            }
        ],
    }
    document = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
