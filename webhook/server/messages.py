"""What the user reads: the denial message and warning lines, within the API server's rules.

The API server silently drops a warning that holds any control character, and shares a budget of
4096 characters across all warnings of a request, so each warning is one clean line of at most
256 characters, and there are at most ten of them plus a summary.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from webhook.engine import SUPPRESS_ANNOTATION, SUPPRESS_REASON_ANNOTATION
from webhook.findings import Action, Autofix, Edit, Finding, Safety, field_text
from webhook.model import ObjectRef

MAX_WARNINGS = 10
MAX_WARNING_CHARS = 256
MAX_LISTED_DENIALS = 20
MAX_FIELD_CHARS = 400

# C0 and C1 control characters (Go's unicode.IsControl) and lone surrogates (not valid UTF-8).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Reported:
    """A finding as the server reports it: its effective action, and why that differs, if it does."""

    finding: Finding
    action: Action
    note: str = ""


def one_line(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    clean = " ".join(_UNPRINTABLE.sub(" ", text).split())
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def finding_warning(reported: Reported) -> str:
    finding = reported.finding
    where = f" {finding.path}" if finding.path else ""
    text = f"{finding.code}{where}: {finding.message}"
    if reported.note:
        text += f" [{reported.note}]"
    with_fix = one_line(f"{text}; fix: {finding.fix}", MAX_WARNING_CHARS + 1)
    return with_fix if len(with_fix) <= MAX_WARNING_CHARS else one_line(text, MAX_WARNING_CHARS)


def warning_lines(notes: Sequence[str], reported: Sequence[Reported]) -> list[str]:
    """Notes first, then one line per warn finding; identical lines once; ten at most, then a summary."""
    lines = [one_line(note, MAX_WARNING_CHARS) for note in notes]
    lines += [finding_warning(r) for r in reported if r.action is Action.WARN]
    unique = list(dict.fromkeys(lines))
    if len(unique) <= MAX_WARNINGS:
        return unique
    rest = len(unique) - MAX_WARNINGS
    return [
        *unique[:MAX_WARNINGS],
        f"...and {rest} more Meshwarden warnings; run `meshwarden check` on the manifest to see them all",
    ]


def corrected(autofix: Autofix) -> str:
    """The fields a fix sets, for a reader who edits the manifest by hand."""
    lead = "corrected" if autofix.safety is Safety.SAFE else "corrected (changes behaviour on purpose)"
    return f"{lead}: {'; '.join(_edit_text(e) for e in autofix.edits)}"


def _edit_text(edit: Edit) -> str:
    if edit.new is None:
        return f"remove {field_text(edit.path)}"
    if edit.old is None and isinstance(edit.path[-1], int):
        return f"add {_json(edit.new)} to {field_text(edit.path[:-1])}"
    return f"set {field_text(edit.path)} to {_json(edit.new)}"


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def denial_message(ref: ObjectRef, denying: Sequence[Reported]) -> str:
    count = len(denying)
    lines = [
        one_line(f"{ref} breaks {count} Istio convention{'s' if count > 1 else ''} enforced by Meshwarden:")
    ]
    for reported in denying[:MAX_LISTED_DENIALS]:
        finding = reported.finding
        where = f" at {finding.path}" if finding.path else ""
        lines.append(one_line(f"- {finding.code} {finding.rule}{where}: {finding.message}"))
        lines.append(f"  fix: {one_line(finding.fix)}")
        lines.append(f"  docs: {finding.docs}")
        if finding.autofix is not None:
            lines.append(f"  {one_line(corrected(finding.autofix))}")
    if count > MAX_LISTED_DENIALS:
        lines.append(f"...and {count - MAX_LISTED_DENIALS} more; run `meshwarden check` on the manifest")
    codes = ",".join(dict.fromkeys(r.finding.code for r in denying))
    lines.append(
        f'To exempt this object on purpose, annotate it {SUPPRESS_ANNOTATION}: "{codes}" '
        f"with a {SUPPRESS_REASON_ANNOTATION}."
    )
    return "\n".join(lines)
