"""Report formats for `meshwarden check` and `meshwarden audit`: text, json, sarif, junit."""

from __future__ import annotations

from collections.abc import Callable

from webhook.output import json_report as json
from webhook.output import junit, sarif, text
from webhook.output.report import Report

FORMATS: dict[str, Callable[[Report], str]] = {
    "text": text.render,
    "json": json.render,
    "sarif": sarif.render,
    "junit": junit.render,
}

__all__ = ["FORMATS", "Report"]
