"""SARIF 2.1.0, one rule per code, fit for GitHub code scanning."""

from __future__ import annotations

from typing import Any

import orjson

from webhook import __version__
from webhook.findings import Action, Finding
from webhook.output.report import Report
from webhook.rules import CATALOGUE

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


def _result(finding: Finding, index: dict[str, int]) -> dict[str, Any]:
    ref = finding.object
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "level": _LEVELS.get(finding.action, "warning"),
        "message": {"text": f"{ref} {finding.path}: {finding.message}. Fix: {finding.fix}"},
        "properties": {"object": str(ref), "path": finding.path, "action": str(finding.action)},
    }
    if finding.code in index:
        result["ruleIndex"] = index[finding.code]
    if finding.file:
        location: dict[str, Any] = {"artifactLocation": {"uri": _uri(finding.file)}}
        if finding.line:
            location["region"] = {"startLine": finding.line}
        result["locations"] = [{"physicalLocation": location}]
    if finding.suppressed:
        result["suppressions"] = [{"kind": "inSource"}]
    return result


def _uri(file: str) -> str:
    return "stdin" if file == "-" else file


def _unread_notes(report: Report) -> list[dict[str, Any]]:
    notes = [
        {"level": "warning", "message": {"text": f"{u.resource} not read: {u.reason}"}} for u in report.unread
    ]
    if report.dropped:
        text = f"{report.dropped} findings left out: they rest on the absence of objects of kinds not read"
        notes.append({"level": "note", "message": {"text": text}})
    return notes


def render(report: Report) -> str:
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
        "results": [_result(f, index) for f in report.findings],
        "invocations": [
            {
                "executionSuccessful": not report.errors,
                "toolExecutionNotifications": [
                    {
                        "level": "error",
                        "message": {"text": e.message},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": _uri(e.file)},
                                    "region": {"startLine": e.line},
                                }
                            }
                        ],
                    }
                    for e in report.errors
                ]
                + _unread_notes(report),
            }
        ],
    }
    document = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"
