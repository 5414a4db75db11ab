"""`--format policyreport`: PolicyReports that the CRD's schema accepts, with a result per rule that
ran on each object, split over parts when a namespace is large."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest

from tests.policyreports import CRDS, validate
from webhook.commands import main
from webhook.findings import INTERNAL_ERROR_CODE, INTERNAL_ERROR_MESSAGE, INTERNAL_ERROR_NAME, Action, Finding
from webhook.model import ObjectRef
from webhook.output import Report, policyreport
from webhook.output.policyreport import MAX_RESULTS_BYTES
from webhook.rules import CATALOGUE

SHOP = CRDS / "shop.yaml"
ANNOTATIONS_LIMIT = 256 * 1024  # the API server's, and client-side apply copies the object into one

Doc = dict[str, Any]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> list[Doc]:
    assert main(["check", *args, "--format", "policyreport", "--fail-on", "never"]) == 0
    listed = orjson.loads(capsys.readouterr().out)
    assert (listed["apiVersion"], listed["kind"]) == ("v1", "List")
    reports: list[Doc] = listed["items"]
    for report in reports:
        validate(report)
    return reports


def outcomes(report: Doc) -> list[tuple[str, str, str]]:
    return sorted((r["resources"][0]["name"], r["rule"], r["result"]) for r in report["results"])


def test_a_report_per_namespace_and_one_for_the_cluster(capsys: pytest.CaptureFixture[str]) -> None:
    cluster, shop = run(capsys, str(SHOP))

    assert (cluster["kind"], cluster["metadata"]) == (
        "ClusterPolicyReport",
        {"name": "meshwarden-cluster", "labels": {"app.kubernetes.io/managed-by": "meshwarden"}},
    )
    assert outcomes(cluster) == [("shop", "MW104", "pass")]
    assert (shop["kind"], shop["metadata"]["name"], shop["metadata"]["namespace"]) == (
        "PolicyReport",
        "meshwarden-shop",
        "shop",
    )
    workload_rules = ["MW101", "MW102", "MW103", "MW104"]
    assert outcomes(shop) == sorted(
        [("clean", "MW104", "pass"), ("clean", "MW201", "pass")]
        + [("unnamed", "MW104", "pass"), ("unnamed", "MW201", "warn")]
        + [("loner", code, "fail" if code == "MW101" else "pass") for code in workload_rules]
        + [("excused", code, "skip" if code == "MW101" else "pass") for code in workload_rules]
    ), "kube-system is exempt: its Service has no results"
    assert shop["summary"] == {"pass": 9, "fail": 1, "warn": 1, "error": 0, "skip": 1}


def test_results_carry_the_rule_the_object_and_how_to_fix(capsys: pytest.CaptureFixture[str]) -> None:
    _, shop = run(capsys, str(SHOP))
    by_outcome = {r["result"]: r for r in shop["results"]}

    fail = by_outcome["fail"]
    assert (fail["policy"], fail["rule"], fail["severity"], fail["source"]) == (
        "workload-identity-labels",
        "MW101",
        "high",
        "meshwarden",
    )
    assert fail["resources"] == [{"apiVersion": "v1", "kind": "Pod", "name": "loner", "namespace": "shop"}]
    assert fail["properties"]["path"] and fail["properties"]["fix"]
    assert fail["properties"]["docs"].endswith("#mw101-workload-identity-labels")
    assert by_outcome["warn"]["severity"] == "medium"
    assert by_outcome["skip"]["properties"]["suppressReason"] == "a one-off debug pod"
    assert by_outcome["pass"]["message"] == "no violation"


def test_a_rule_turned_off_gives_no_pass(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "policy.yaml"
    config.write_text("rules:\n  MW201: off\n")
    _, shop = run(capsys, str(SHOP), "--config", str(config))
    assert "MW201" not in {r["rule"] for r in shop["results"]}
    assert "MW104" in {r["rule"] for r in shop["results"]}


def test_the_schema_refuses_what_the_api_server_would(capsys: pytest.CaptureFixture[str]) -> None:
    """Guards the validation the other tests rely on."""
    _, shop = run(capsys, str(SHOP))
    for breakage in ({"result": "deny"}, {"severity": "severe"}, {"properties": {"line": 3}}, {"file": "x"}):
        broken = {**shop, "results": [{**shop["results"][0], **breakage}]}
        with pytest.raises(jsonschema.ValidationError):
            validate(broken)


def services(namespace: str, count: int) -> str:
    return "".join(
        f"---\napiVersion: v1\nkind: Service\nmetadata: {{name: service-{i:05}, namespace: {namespace}}}\n"
        f"spec:\n  ports: [{{port: 80}}]\n"
        for i in range(count)
    )


def test_a_large_namespace_is_split_over_numbered_reports(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    count = 600
    manifest = tmp_path / "big.yaml"
    manifest.write_text(services("big", count) + services("small", 1))

    cluster, *reports = run(capsys, str(manifest))

    names = [(r["metadata"]["namespace"], r["metadata"]["name"]) for r in reports]
    parts = [name for namespace, name in names if namespace == "big"]
    assert len(parts) > 2
    assert parts == ["meshwarden-big"] + [f"meshwarden-big-{n}" for n in range(2, len(parts) + 1)]
    assert ("small", "meshwarden-small") in names
    for report in [cluster, *reports]:
        assert len(orjson.dumps(report)) < ANNOTATIONS_LIMIT, "kubectl apply's last-applied copy fits"
        assert len(orjson.dumps(report["results"])) <= MAX_RESULTS_BYTES
    big = [r for r in reports if r["metadata"]["namespace"] == "big"]
    per_service = Counter(r["resources"][0]["name"] for report in big for r in report["results"])
    assert per_service == {f"service-{i:05}": 2 for i in range(count)}, "every result, none twice"
    in_parts = [{r["resources"][0]["name"] for r in report["results"]} for report in big]
    assert all(a.isdisjoint(b) for i, a in enumerate(in_parts) for b in in_parts[i + 1 :]), (
        "an object's results stay in one report"
    )
    assert sum(r["summary"]["warn"] for r in big) == count


def test_a_rule_that_broke_is_an_error_and_no_pass() -> None:
    ref = ObjectRef.of("v1", "Service", "shop", "reviews")
    broken, fine = CATALOGUE.find("MW201"), CATALOGUE.find("MW104")
    assert broken is not None and fine is not None
    error = Finding(
        code=INTERNAL_ERROR_CODE,
        message_id=f"{INTERNAL_ERROR_CODE}/{INTERNAL_ERROR_MESSAGE}",
        rule=INTERNAL_ERROR_NAME,
        action=Action.WARN,
        object=ref,
        path="",
        message="rule MW201 (service-port-protocol) failed on Service shop/reviews: KeyError",
        fix="report it",
        docs=broken.docs,
    )
    report = Report([error], [], [(ref, None, None)], rules_run={ref: [fine, broken]})

    _, shop = policyreport.reports(report)

    validate(shop)
    assert [(r["rule"], r["result"]) for r in shop["results"]] == [("MW000", "error"), ("MW104", "pass")]
