"""The JSON report of interfaces.md: findings, errors, summary."""

from __future__ import annotations

from typing import Any

import orjson

from webhook.findings import Finding
from webhook.output.report import Report


def finding_dict(finding: Finding) -> dict[str, Any]:
    ref = finding.object
    return {
        "code": finding.code,
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
        "line": finding.line,
    }


def render(report: Report) -> str:
    document: dict[str, Any] = {
        "findings": [finding_dict(f) for f in report.findings],
        "errors": [{"file": e.file, "line": e.line, "message": e.message} for e in report.errors],
        "summary": {**report.counts(), "skipped": report.skipped},
    }
    if report.unread:  # kinds the cluster's API forbade listing (audit, check --cluster)
        document["unread"] = [{"resource": u.resource, "reason": u.reason} for u in report.unread]
        document["summary"]["dropped"] = report.dropped
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"
