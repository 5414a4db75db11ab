"""Report formats for `meshwarden check` and `meshwarden audit`: text, json, sarif, junit, policyreport.

Each format's module is loaded when a report is rendered in it, so that a run loads only its own
(the JSON formats need orjson, JUnit the XML writer).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator

from webhook.output.report import Report

_MODULES = {
    "text": "text",
    "json": "json_report",
    "sarif": "sarif",
    "junit": "junit",
    "policyreport": "policyreport",
}
FORMATS = tuple(_MODULES)
PASSING_FORMATS = frozenset({"policyreport"})
"""Formats that report each rule that ran and found nothing (`Report.rules_run`)."""


Rendered = str | bytes | Iterator[bytes]


def render(name: str, report: Report) -> Rendered:
    """The report as text, or as UTF-8 bytes for the JSON formats (as orjson writes them: a report
    of 100,000 findings is not copied into a str and back); the JSON report in pieces."""
    module = importlib.import_module(f"webhook.output.{_MODULES[name]}")
    renderer: Callable[[Report], Rendered] = module.render
    return renderer(report)


__all__ = ["FORMATS", "PASSING_FORMATS", "Report", "render"]
