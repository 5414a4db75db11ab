"""`meshwarden audit --format policyreport` against the fake API server: reports the CRD's schema
accepts, whose counts are those of the same audit's JSON report."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.cluster import objects as o
from tests.cluster.fakeapi import FakeApi
from tests.policyreports import validate
from webhook.commands import main


def audit(kubeconfig: Path, output: str, capsys: pytest.CaptureFixture[str]) -> Any:
    args = ["audit", "--kubeconfig", str(kubeconfig), "--kube-context", "fake", "--format", output]
    assert main([*args, "--fail-on", "never"]) == 0
    return orjson.loads(capsys.readouterr().out)


def test_audit_writes_reports_whose_counts_match_the_json_report(
    fake: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.put(o.namespace("shop", **{"istio-injection": "enabled"}))
    fake.put(o.namespace("default"))
    fake.put(o.pod("loner", ns="shop"))  # no app label in an injected namespace: MW101 denies
    suppressed = o.pod("excused", ns="shop")
    suppressed["metadata"]["annotations"] = {"meshwarden.io/suppress": "MW101"}
    fake.put(suppressed)
    fake.put(o.gateway("bookinfo-gateway"))
    fake.put(o.virtual_service("reviews", gateways=["bookinfo-gateway"]))  # MW301 denies
    fake.put(o.service("reviews"))
    fake.put(o.service("dns", ns="kube-system"))  # exempt: no results
    kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")

    summary = audit(kubeconfig, "json", capsys)["summary"]
    reports = audit(kubeconfig, "policyreport", capsys)["items"]

    for report in reports:
        validate(report)
    where = sorted((r["kind"], r["metadata"].get("namespace", ""), r["metadata"]["name"]) for r in reports)
    assert where == [
        ("ClusterPolicyReport", "", "meshwarden-cluster"),
        ("PolicyReport", "default", "meshwarden-default"),
        ("PolicyReport", "istio-system", "meshwarden-istio-system"),
        ("PolicyReport", "shop", "meshwarden-shop"),
    ]
    totals: Counter[str] = Counter()
    for report in reports:
        outcomes = Counter(r["result"] for r in report["results"])
        assert report["summary"] == {key: outcomes[key] for key in ("pass", "fail", "warn", "error", "skip")}
        totals.update(report["summary"])
    assert summary["deny"] >= 2 and summary["suppressed"] == 1
    assert (totals["fail"], totals["warn"] + totals["error"], totals["skip"]) == (
        summary["deny"],
        summary["warn"],
        summary["suppressed"],
    )
    objects = {
        (r["resources"][0]["kind"], r["resources"][0].get("namespace", ""), r["resources"][0]["name"])
        for report in reports
        for r in report["results"]
    }
    assert len(objects) == summary["objects"] - 1, "every object checked, but the exempt one"
    assert totals["pass"] > 0
