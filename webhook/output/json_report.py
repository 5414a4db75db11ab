"""The JSON report of interfaces.md: findings, errors, summary."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import orjson

from webhook.findings import Autofix, Finding
from webhook.loader import Note
from webhook.output.report import Report


def finding_dict(finding: Finding, notes: Sequence[Note] = ()) -> dict[str, Any]:
    ref = finding.object
    return {
        "code": finding.code,
        "messageId": finding.message_id,
        "rule": finding.rule,
        "action": str(finding.action),
        "suppressed": finding.suppressed,
        "object": {
            "apiVersion": ref.api_version,
            "kind": ref.kind,
            "namespace": ref.namespace,
            "name": ref.name,
        },
        "path": finding.path,
        "message": finding.message,
        "fix": finding.fix,
        "docs": finding.docs,
        "file": finding.file,
        "line": finding.line or None,
        "notes": [note.message for note in notes],
        "autofix": autofix_dict(finding.autofix) if finding.autofix else None,
    }


def autofix_dict(autofix: Autofix) -> dict[str, Any]:
    """A fix as JSON: each edit's path as keys and list indices; `old` null adds the field, `new`
    null removes it."""
    return {
        "title": autofix.title,
        "safety": str(autofix.safety),
        "edits": [{"path": list(e.path), "old": e.old, "new": e.new} for e in autofix.edits],
    }


FINDINGS_AT_ONCE = 256
_OPENING = b'{\n  "findings": ['
_INDENT = b"\n    "
"""A finding's lines in the report: inside the document and its list of findings."""


def render(report: Report) -> Iterator[bytes]:
    """The report as orjson writes it with an indent of two, in pieces: the findings are written
    FINDINGS_AT_ONCE at a time, each indented to its place, so that neither the report of 100,000
    findings nor their dictionaries are ever whole in memory."""
    rest = orjson.dumps(_document(report), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    if not report.findings:
        yield rest
        return
    yield _OPENING
    findings, notes = report.findings, report.finding_notes
    for start in range(0, len(findings), FINDINGS_AT_ONCE):
        batch = [
            _placed(finding_dict(f, notes.get(f, ()))) for f in findings[start : start + FINDINGS_AT_ONCE]
        ]
        yield (b"," if start else b"") + b",".join(batch)
    yield b"\n  ]" + rest.removeprefix(_OPENING + b"]")


def _placed(finding: dict[str, Any]) -> bytes:
    return _INDENT + orjson.dumps(finding, option=orjson.OPT_INDENT_2).replace(b"\n", _INDENT)


def _document(report: Report) -> dict[str, Any]:
    """The report without its findings."""
    document: dict[str, Any] = {
        "findings": [],
        "errors": [{"file": e.file, "line": e.line, "message": e.message} for e in report.errors],
        "notes": [{"file": n.file, "line": n.line, "message": n.message} for n in report.notes],
        "summary": {
            **report.counts(),
            "skipped": report.skipped,
            "skippedKinds": dict(report.skipped_by_kind()),
            "skippedFiles": report.skipped_files,
            "replaced": report.replaced,
            "fixable": {str(safety): count for safety, count in report.fixable().items()},
        },
    }
    if report.unread:  # kinds the cluster's API forbade listing (audit, check --cluster)
        document["unread"] = [{"resource": u.resource, "reason": u.reason} for u in report.unread]
    if report.unread or report.dropped:
        document["summary"]["dropped"] = report.dropped
    return document
