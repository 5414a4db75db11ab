"""docs/rules.md is generated from the rules' metadata, and every example says what it claims."""

from pathlib import Path

import pytest

from tests.helpers import run
from webhook.docs import render
from webhook.rules import CATALOGUE, Rule

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_POLICY = "ingressNginx: {meshed: true}\nmesh: {mtls: STRICT}\n"


def test_rule_reference_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert committed == render(), "docs/rules.md is stale: run `make docs`"


def test_every_rule_is_documented() -> None:
    for rule in CATALOGUE:
        assert rule.summary and rule.why and rule.fix, rule.code
        assert rule.code.startswith("MW") and rule.name == rule.name.lower()


@pytest.mark.parametrize("rule", list(CATALOGUE), ids=lambda r: r.code)
def test_bad_example_triggers_the_rule_and_good_example_does_not(rule: Rule) -> None:
    assert rule.code in {f.code for f in run(rule.bad, policy=EXAMPLE_POLICY)}, rule.bad
    assert rule.code not in {f.code for f in run(rule.good, policy=EXAMPLE_POLICY)}, rule.good
