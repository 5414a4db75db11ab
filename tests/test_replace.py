"""The same object given twice: the later one replaces the earlier, as a second `kubectl apply`
would, and a note names both places, beside the findings the replacement changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from webhook.commands import main
from webhook.loader import load_text
from webhook.replace import latest

ALL_SUBSETS = """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
"""
V1_ONLY = """\
# routes everything to v1 while v2 is rolled back
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
"""
ROUTE_V2 = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v2}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: shop}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: shop}
spec:
  ports: [{port: 9080}]
"""


@pytest.fixture
def bookinfo(tmp_path: Path) -> Path:
    (tmp_path / "a-destination-rule-all.yaml").write_text(ALL_SUBSETS)
    (tmp_path / "b-destination-rule-v1.yaml").write_text(V1_ONLY)
    (tmp_path / "c-routes.yaml").write_text(ROUTE_V2)
    return tmp_path


def test_the_later_object_replaces_the_earlier_and_the_changed_finding_says_so(
    bookinfo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check", "--fail-on", "never", "--partial", "--color", "never", str(bookinfo)])
    partial, _ = capsys.readouterr()
    code = main(["check", "--fail-on", "never", "--color", "never", str(bookinfo)])
    out, err = capsys.readouterr()
    assert code == 0
    note = (
        f"DestinationRule shop/reviews replaces the one at {bookinfo / 'a-destination-rule-all.yaml'}:1: "
        "the same object given twice, the later one counts (as with a second kubectl apply)"
    )
    assert err == f"{bookinfo / 'b-destination-rule-v1.yaml'}:2: note: {note}\n"
    lines = out.splitlines()
    mw305 = next(i for i, line in enumerate(lines) if " deny MW305 " in line)
    assert lines[mw305 + 2] == f"    note: {note}"
    mw201 = next(i for i, line in enumerate(lines) if " MW201 " in line)
    assert not lines[mw201 + 2].startswith("    note:")  # the ratings Service owes nothing to it
    assert lines[-2].endswith(", 1 replaced")
    # --partial keeps MW305: the DestinationRule is present and lacks the subset (no absence)
    assert f"    note: {note}" in partial.splitlines()


def test_replacement_notes_in_json_and_sarif(bookinfo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["check", "--format", "json", str(bookinfo)])
    report = json.loads(capsys.readouterr()[0])
    by_code = {f["code"]: f for f in report["findings"]}
    assert by_code["MW305"]["notes"] == [report["notes"][0]["message"]]
    assert by_code["MW201"]["notes"] == []
    assert report["notes"][0]["file"] == str(bookinfo / "b-destination-rule-v1.yaml")
    assert report["notes"][0]["line"] == 2
    assert report["summary"]["replaced"] == 1
    assert report["summary"]["objects"] == 4
    main(["check", "--format", "sarif", str(bookinfo)])
    run = json.loads(capsys.readouterr()[0])["runs"][0]
    [result] = [r for r in run["results"] if r["ruleId"] == "MW305"]
    [related] = result["relatedLocations"]
    assert related["physicalLocation"]["artifactLocation"]["uri"] == str(
        bookinfo / "b-destination-rule-v1.yaml"
    )
    assert related["physicalLocation"]["region"]["startLine"] == 2
    assert "replaces the one at" in related["message"]["text"]
    notifications = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["level"] for n in notifications] == ["note"]


def test_identity_is_group_kind_namespace_and_name() -> None:
    text = """\
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: edge, namespace: shop}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: shop}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: edge}
---
apiVersion: v1
kind: Pod
metadata: {generateName: job-, namespace: shop}
---
apiVersion: v1
kind: Pod
metadata: {generateName: job-, namespace: shop}
"""
    resources, errors = load_text(text, "x.yaml", "shop")
    assert errors == []
    kept, replacements = latest(resources)
    assert [(r.earlier.origin.line, r.later.origin.line) for r in replacements] == [(1, 9)]
    assert [r.origin.line for r in kept] == [5, 9, 13, 17]
