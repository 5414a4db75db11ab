"""Every rule that offers fixes: its fixes turn its bad example into its good example."""

from typing import Any

import pytest
import yaml

from tests.helpers import run
from tests.rules.fixing import autofix_of, fixed
from tests.test_docs import EXAMPLE_POLICY
from webhook.findings import Finding
from webhook.rules import CATALOGUE, Rule


def _is_object(document: dict[str, Any], finding: Finding) -> bool:
    metadata = document.get("metadata") or {}
    return document.get("kind") == finding.object.kind and metadata.get("name") == finding.object.name


@pytest.mark.parametrize("rule", [r for r in CATALOGUE if r.fixes], ids=lambda r: r.code)
def test_fixes_turn_the_bad_example_into_the_good_one(rule: Rule) -> None:
    documents = list(yaml.safe_load_all(rule.bad))
    findings = [f for f in run(rule.bad, policy=EXAMPLE_POLICY) if f.code == rule.code]
    assert findings
    for finding in findings:
        [index] = [i for i, document in enumerate(documents) if _is_object(document, finding)]
        documents[index] = fixed(documents[index], autofix_of(finding))
    assert documents == list(yaml.safe_load_all(rule.good))
    text = yaml.safe_dump_all(documents, sort_keys=False)
    assert rule.code not in {f.code for f in run(text, policy=EXAMPLE_POLICY)}
