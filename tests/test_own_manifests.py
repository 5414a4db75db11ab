"""Meshwarden's own install and examples pass its own rules: every kustomization under manifests/
renders to objects without a single finding, and each example shows exactly what it exists to show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.test_manifests import KUSTOMIZATIONS, render
from webhook.commands import main
from webhook.engine import Engine
from webhook.inventory.source import StaticSource
from webhook.policy import Policy
from webhook.server.admission import Decision, admit
from webhook.server.review import parse_review

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

# The bookinfo example is the README's first run: a broken VirtualService, on purpose.
BOOKINFO = [
    ("MW201", "warn", "Service", "bookinfo/reviews"),
    ("MW301", "deny", "VirtualService", "bookinfo/reviews"),
    ("MW304", "warn", "VirtualService", "bookinfo/reviews"),
    ("MW305", "deny", "VirtualService", "bookinfo/reviews"),
]

# The CI examples: validated and run by tests/integrations/test_ci.py.
CI_EXAMPLES = {"ci/github-workflow.yml", "ci/gitlab-ci.yml"}

# The sample AdmissionReviews: what the server answers to each (no inventory, default policy).
REVIEWS = {
    "review-pod-allow.json": (Decision.ALLOW, []),
    "review-pod-deny.json": (Decision.DENY, ["MW101"]),
    "review-deployment-deny.json": (Decision.DENY, ["MW101"]),
    "review-virtualservice-deny.json": (Decision.DENY, ["MW309"]),
}


def check(capsys: pytest.CaptureFixture[str], *paths: str) -> list[tuple[str, str, str, str]]:
    status = main(["check", "--format", "json", "--fail-on", "never", *paths])
    report = json.loads(capsys.readouterr().out)
    assert (status, report["errors"]) == (0, [])
    return sorted(
        (f["code"], f["action"], f["object"]["kind"], f"{f['object']['namespace']}/{f['object']['name']}")
        for f in report["findings"]
    )


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_rendered_install_has_no_findings(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rendered = tmp_path / f"{name}.yaml"
    rendered.write_text(yaml.safe_dump_all(render(name)))
    assert check(capsys, str(rendered)) == []


def test_bookinfo_example_shows_its_findings(capsys: pytest.CaptureFixture[str]) -> None:
    assert check(capsys, str(EXAMPLES / "bookinfo")) == sorted(BOOKINFO)


@pytest.mark.parametrize("name", sorted(REVIEWS))
def test_review_example_gets_its_answer(name: str) -> None:
    request = parse_review(json.loads((EXAMPLES / name).read_text()))
    verdict = admit(request, Engine(Policy()), StaticSource())
    assert (verdict.decision, [r.finding.code for r in verdict.reported]) == REVIEWS[name]


def test_every_example_is_covered() -> None:
    files = {str(p.relative_to(EXAMPLES)) for p in EXAMPLES.rglob("*") if p.is_file()}
    assert files == set(REVIEWS) | CI_EXAMPLES | {
        f"bookinfo/{p.name}" for p in (EXAMPLES / "bookinfo").iterdir()
    }
