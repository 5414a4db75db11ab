"""Test helpers: run the real engine over YAML written inline in a test."""

from __future__ import annotations

from textwrap import dedent

from webhook.engine import Engine
from webhook.findings import Finding
from webhook.inventory import Inventory, World
from webhook.loader import load_text
from webhook.policy import Policy, parse_policy
from webhook.rules import CATALOGUE


def run(
    manifests: str,
    *,
    context: str = "",
    policy: str | Policy | None = None,
    namespace: str = "default",
    complete: bool = True,
) -> list[Finding]:
    """Findings for the objects in `manifests`, with `context` objects in the inventory too."""
    resources, errors = load_text(dedent(manifests), "test.yaml", namespace)
    assert not errors, errors
    context_objects, context_errors = (
        load_text(dedent(context), "context.yaml", namespace) if context else ([], [])
    )
    assert not context_errors, context_errors
    if isinstance(policy, str):
        policy = parse_policy(dedent(policy), CATALOGUE)
    engine = Engine(policy or Policy())
    inventory = Inventory([*resources, *context_objects])
    return engine.check_all(resources, World(inventory, None if complete else "partial"))


def codes(findings: list[Finding], code: str | None = None) -> list[str]:
    return [f.code for f in findings if code is None or f.code == code]


def only(findings: list[Finding], code: str) -> list[Finding]:
    return [f for f in findings if f.code == code]


def said(findings: list[Finding], code: str | None = None) -> list[tuple[str, str]]:
    """What each finding said and where: (message id, path), e.g. ("MW309/not-a-duration",
    "spec.http[0].timeout")."""
    return [(f.message_id, f.path) for f in findings if code is None or f.code == code]
