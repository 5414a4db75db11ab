"""`meshwarden audit --format policyreport` against the fake API server: reports the CRD's schema
accepts, whose counts are those of the same audit's JSON report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from tests.cluster import objects as o
from tests.cluster.fakeapi import FakeApi
from tests.cluster.test_audit import role_without
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


def stored(fake: FakeApi, kind: str) -> dict[tuple[str, str], Any]:
    (found,) = [k for k in fake.kinds if k.kind == kind]
    items = fake.list_page(found, None, {})[1]
    assert items is not None
    return {(i["metadata"].get("namespace", ""), i["metadata"]["name"]): i for i in items["items"]}


def report(kind: str, name: str, namespace: str = "", **labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": labels}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": kind, "metadata": meta, "results": []}


def test_audit_apply_writes_the_reports_and_deletes_only_its_stale_ones(
    fake: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.put(o.service("reviews", ns="shop"))
    fake.put(o.service("ratings", ns="shop", port=0))
    ours = {"app.kubernetes.io/managed-by": "meshwarden"}
    fake.put(report("PolicyReport", "meshwarden-gone", "gone", **ours))  # a namespace since emptied
    fake.put(report("PolicyReport", "meshwarden-shop-2", "shop", **ours))  # a part no longer needed
    fake.put(report("PolicyReport", "kyverno-shop", "shop"))  # someone else's
    fake.put(report("ClusterPolicyReport", "meshwarden-cluster", **ours))
    kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")
    printed = audit(kubeconfig, "policyreport", capsys)["items"]

    err = apply_audit(kubeconfig, capsys)
    assert "audit: 2 PolicyReports applied, 2 stale ones deleted" in err

    reports = stored(fake, "PolicyReport")
    assert set(reports) == {("shop", "meshwarden-shop"), ("shop", "kyverno-shop")}
    shop = reports[("shop", "meshwarden-shop")]
    (expected,) = [r for r in printed if r["metadata"].get("namespace") == "shop"]
    assert [(r["rule"], r["result"]) for r in shop["results"]] == [
        (r["rule"], r["result"]) for r in expected["results"]
    ]
    assert set(stored(fake, "ClusterPolicyReport")) == {("", "meshwarden-cluster")}
    applies = [r for r in fake.requests if r.accept == "patch"]
    assert applies and all(r.query == {"fieldManager": "meshwarden", "force": "true"} for r in applies)

    assert "2 PolicyReports applied, 0 stale ones deleted" in apply_audit(kubeconfig, capsys)  # replaces
    assert set(stored(fake, "PolicyReport")) == {("shop", "meshwarden-shop"), ("shop", "kyverno-shop")}


def test_audit_apply_without_write_access_is_a_clear_error(
    make_fake: Callable[..., FakeApi], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    read_all = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]}]
    fake = make_fake(role=read_all)
    fake.put(o.service("reviews"))
    kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")

    assert main(["audit", "--apply", "--kubeconfig", str(kubeconfig), "--kube-context", "fake"]) == 2
    err = capsys.readouterr().err
    assert "cannot write the PolicyReports: 403 Forbidden" in err
    assert 'cannot patch resource "clusterpolicyreports"' in err


def test_the_audit_jobs_role_is_enough_to_audit_and_apply(
    make_fake: Callable[..., FakeApi], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rbac = Path(__file__).parents[2] / "manifests" / "components" / "audit-cronjob" / "rbac.yaml"
    (role,) = [doc for doc in yaml.safe_load_all(rbac.read_text()) if doc["kind"] == "ClusterRole"]
    fake = make_fake(role=role["rules"])
    fake.put(o.pod("web", app="web"))
    fake.put(o.virtual_service("web"))
    fake.put(
        report("PolicyReport", "meshwarden-gone", "gone", **{"app.kubernetes.io/managed-by": "meshwarden"})
    )
    kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")

    err = apply_audit(kubeconfig, capsys)
    assert "cannot read" not in err and "1 stale ones deleted" in err
    assert set(stored(fake, "PolicyReport")) == {("default", "meshwarden-default")}


def test_kinds_not_read_are_errors_in_the_cluster_report(
    make_fake: Callable[..., FakeApi], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = make_fake(role=role_without("deployments"))
    fake.put(o.service("reviews"))
    kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")

    cluster, *_ = audit(kubeconfig, "policyreport", capsys)["items"]

    validate(cluster)
    (error,) = [r for r in cluster["results"] if r["result"] == "error"]
    assert error["message"].startswith("deployments.apps not read: 403 Forbidden")
    assert cluster["summary"]["error"] == 1


def apply_audit(kubeconfig: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """`meshwarden audit --apply` against the fake; what it said on standard error."""
    args = ["audit", "--apply", "--kubeconfig", str(kubeconfig), "--kube-context", "fake"]
    assert main([*args, "--fail-on", "never"]) == 0
    return capsys.readouterr().err
