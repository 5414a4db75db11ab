"""The rule reference (docs/rules.md and `meshwarden explain`), generated from rule metadata."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from webhook.rules import CATALOGUE, Rule

HEADER = """\
# Meshwarden rule reference

Generated from the rules' own metadata by `make docs`; do not edit by hand.

Each rule has a stable code and name; both work in the policy file, in `--suppress` and in the
`meshwarden.io/suppress` annotation. "Default" is the action under the `default` profile:
`strict` makes every rule `deny`, `audit` makes every rule `warn`. Cross rules look at other
objects (the input files and `--context` files in the CLI, the cluster in the server).

"""


_HEADING = re.compile(r"^#+ ")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")
_EMPHASIS = re.compile(r"\*\*(.+?)\*\*|`([^`]+)`")


def _kinds(rule: Rule) -> str:
    return ", ".join(sorted(rule.kinds))


def rule_section(rule: Rule, heading: str = "##") -> str:
    cross = "yes" if rule.cross else "no"
    options = ", ".join(f"`{k}` (default `{v!r}`)" for k, v in rule.options.items()) or "none"
    return (
        f"{heading} {rule.code} {rule.name}\n\n"
        f"Default: **{rule.default}** · Kinds: {_kinds(rule)} · Cross-object: {cross} · "
        f"Options: {options}\n\n"
        f"### What it does\n\n{rule.summary}\n\n"
        f"### Why is this bad?\n\n{rule.why}\n\n"
        f"### How to fix\n\n{rule.fix}\n\n"
        f"### Example\n\n```yaml\n{rule.bad}```\n\n"
        f"Use instead:\n\n```yaml\n{rule.good}```\n"
    )


def plain_text(markdown: str) -> str:
    """A rule section as a terminal shows it: no heading marks, emphasis, backticks or fences;
    examples indented."""
    lines = []
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            lines.append(f"    {line}" if line else "")
            continue
        line = _HEADING.sub("", line)
        line = _LINK.sub(r"\1 (\2)", line)
        lines.append(_EMPHASIS.sub(lambda m: m.group(1) or m.group(2), line))
    return "\n".join(lines) + "\n"


def render() -> str:
    index = "\n".join(
        f"| [{r.code}](#{r.code.lower()}-{r.name}) | {r.name} | {r.default} | {'yes' if r.cross else 'no'} "
        f"| {_kinds(r)} |"
        for r in CATALOGUE
    )
    table = "| code | name | default | cross | kinds |\n|---|---|---|---|---|\n" + index + "\n\n"
    return HEADER + table + "\n".join(rule_section(r) for r in CATALOGUE)


def main() -> int:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    text = render()
    if target is None:
        sys.stdout.write(text)
    else:
        target.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
