"""Report formats for `meshwarden check` and `meshwarden audit`: text, json, sarif, junit, policyreport."""

from __future__ import annotations

from collections.abc import Callable

from webhook.output import json_report as json
from webhook.output import junit, policyreport, sarif, text
from webhook.output.report import Report

FORMATS: dict[str, Callable[[Report], str]] = {
    "text": text.render,
    "json": json.render,
    "sarif": sarif.render,
    "junit": junit.render,
    "policyreport": policyreport.render,
}
PASSING_FORMATS = frozenset({"policyreport"})
"""Formats that report each rule that ran and found nothing (`Report.rules_run`)."""

__all__ = ["FORMATS", "PASSING_FORMATS", "Report"]
