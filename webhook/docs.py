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

A Pod or workload that a controller owns (an ownerReference with `controller: true`: a
ReplicaSet's pods, a Deployment's ReplicaSets, a CronJob's Jobs, an operator's Deployments) gets
warnings, never a denial, from the rules that check pod templates: the template it was made from
was checked where a person wrote it, and a denial would only stall the controller's rollout. The
admission webhook as installed is not even called for such objects (its `matchConditions`; README,
"What the API server sends").

Each rule lists the messages it can give. A finding carries its message's id next to the code, as
`MW309/not-a-duration` (JSON `messageId`, SARIF `properties.messageId`): it names what was said,
whatever the concrete values in the text, and is as stable as the code. A finding that reports
several problems of one part (an MW403 server) carries the id of the first, where its path points.
A rule that fails on an object is reported as `MW000/rule-failed` (a warning naming the rule); the
other rules still run.

Messages marked *safe fix* carry an exact change that `meshwarden fix` applies: it states what is
already true and changes nothing about traffic the author intended. Those marked *unsafe fix* change
behaviour on purpose and are applied only with `meshwarden fix --unsafe-fixes`. The "fix" column
of the table says which kinds of fix a rule has.

"""


_HEADING = re.compile(r"^#+ ")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")
_EMPHASIS = re.compile(r"\*\*(.+?)\*\*|`([^`]+)`")


def _kinds(rule: Rule, *, groups: bool = True) -> str:
    """`Kind.group` names (`Gateway.networking.istio.io`), or kind names alone for the index table."""
    return ", ".join(sorted(str(k) if groups else k.kind for k in rule.kinds))


def _inputs(rule: Rule) -> str:
    return ", ".join(str(i) for i in rule.inputs) or "nothing"


def _messages(rule: Rule) -> str:
    return "\n".join(
        f"- `{rule.message_id(m)}`: {said_when}{_fix_mark(rule, m)}" for m, said_when in rule.messages.items()
    )


def _fix_mark(rule: Rule, message: str) -> str:
    safety = rule.fixes.get(message)
    return f" (*{safety} fix*)" if safety else ""


def _fixes(rule: Rule) -> str:
    """The kinds of fix a rule's messages carry: `safe`, `unsafe`, both, or "" for none."""
    return ", ".join(sorted({str(s) for s in rule.fixes.values()}))


def rule_section(rule: Rule, heading: str = "##") -> str:
    cross = "yes" if rule.cross else "no"
    options = ", ".join(f"`{k}` (default `{v!r}`)" for k, v in rule.options.items()) or "none"
    return (
        f"{heading} {rule.code} {rule.name}\n\n"
        f"Default: **{rule.default}** · Kinds: {_kinds(rule)} · Cross-object: {cross} · "
        f"Options: {options}\n\n"
        f"Reads from the inventory: {_inputs(rule)} · Fixes: {_fixes_line(rule)}\n\n"
        f"### What it does\n\n{rule.summary}\n\n"
        f"### Why is this bad?\n\n{rule.why}\n\n"
        f"### How to fix\n\n{rule.fix}\n\n"
        f"### Messages\n\n{_messages(rule)}\n\n"
        f"### Example\n\n```yaml\n{rule.bad}```\n\n"
        f"Use instead:\n\n```yaml\n{rule.good}```\n"
    )


def _fixes_line(rule: Rule) -> str:
    kinds = _fixes(rule)
    if not kinds:
        return "none"
    unsafe = " (unsafe ones with `--unsafe-fixes`)" if "unsafe" in kinds else ""
    return f"{kinds}, applied by `meshwarden fix`{unsafe}"


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
        f"| {_fixes(r)} | {_kinds(r, groups=False)} |"
        for r in CATALOGUE
    )
    table = "| code | name | default | cross | fix | kinds |\n|---|---|---|---|---|---|\n" + index + "\n\n"
    return HEADER + table + "\n".join(rule_section(r) for r in CATALOGUE)


INPUTS_TABLE_HEADER = "| rule | cross | reads (kind, detail) |\n|---|---|---|\n"


def inputs_table() -> str:
    """The README's table of the rules that read other objects, and what they read."""
    rows = "".join(
        f"| {r.code} {r.name} | {'yes' if r.cross else 'no'} | {_inputs(r)} |\n"
        for r in CATALOGUE
        if r.inputs
    )
    return INPUTS_TABLE_HEADER + rows


def with_inputs_table(readme: str) -> str:
    """The README with its table of rule inputs replaced by the current one."""
    start = readme.index(INPUTS_TABLE_HEADER)
    end = readme.index("\n\n", start) + 1
    return readme[:start] + inputs_table() + readme[end:]


def main() -> int:
    """`python -m webhook.docs [REFERENCE [README]]`: writes the rule reference (stdout without a
    path) and refreshes the README's table of rule inputs."""
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    text = render()
    if target is None:
        sys.stdout.write(text)
    else:
        target.write_text(text, encoding="utf-8")
    if len(sys.argv) > 2:
        readme = Path(sys.argv[2])
        readme.write_text(with_inputs_table(readme.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
