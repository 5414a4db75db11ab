"""`meshwarden audit` and `check --cluster` with credentials narrower than cluster-admin: what they
may not list is skipped and named, what rests on its absence is dropped, the rest is reported."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster import objects as o
from tests.cluster.fakeapi import FakeApi
from webhook.commands import main

ROOT = Path(__file__).resolve().parents[2]
# The admission server's own ClusterRole: the inventory kinds only, no workloads, no Ingresses.
SERVER_ROLE = next(
    d
    for d in yaml.safe_load_all((ROOT / "manifests/base/rbac.yaml").read_text())
    if d["kind"] == "ClusterRole"
)["rules"]
NOT_IN_SERVER_ROLE = [
    "cronjobs.batch",
    "daemonsets.apps",
    "deployments.apps",
    "ingresses.networking.k8s.io",
    "jobs.batch",
    "replicasets.apps",
    "replicationcontrollers",
    "statefulsets.apps",
]


def unnamed_port_service(name: str) -> dict[str, Any]:
    """A Service whose port has no name (MW201 warns): a finding about an object that is there."""
    service = o.service(name)
    del service["spec"]["ports"][0]["name"]
    return service


def subset_route(name: str) -> dict[str, Any]:
    """A VirtualService bound to a Gateway that does not exist, routing to a subset no DestinationRule
    defines: MW301 and MW305, both resting on an absence."""
    vs = o.virtual_service(name, gateways=["istio-system/missing"])
    vs["spec"]["http"][0]["route"][0]["destination"]["subset"] = "v2"
    return vs


def run(
    fake: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")
    status = main([*args, "--kubeconfig", str(kubeconfig), "--kube-context", "fake"])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def server_role_cluster(make_fake: Callable[..., FakeApi]) -> FakeApi:
    fake = make_fake(role=SERVER_ROLE)
    fake.put(o.service("reviews"))
    fake.put(unnamed_port_service("ratings"))
    fake.put(o.virtual_service("reviews", gateways=["bookinfo-gateway"]))  # in default: not found
    fake.put(o.deployment("reviews"))
    return fake


def test_audit_under_the_servers_own_role_reports_everything_it_may_read(
    server_role_cluster: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(server_role_cluster, tmp_path, capsys, "audit", "--format", "json")

    report = json.loads(out)
    assert status == 1, "MW301 denies: gateways may be read, so the missing one is a finding"
    found = {(f["code"], f["object"]["name"]) for f in report["findings"]}
    assert {("MW201", "ratings"), ("MW301", "reviews")} <= found
    assert [u["resource"] for u in report["unread"]] == NOT_IN_SERVER_ROLE
    assert all(
        u["reason"].startswith(f"403 Forbidden: {u['resource']} is forbidden") for u in report["unread"]
    )
    assert report["summary"]["objects"] == 3 and report["summary"]["dropped"] == 0
    for resource in NOT_IN_SERVER_ROLE:
        assert f"audit: cannot read {resource}, skipped: 403 Forbidden: {resource} is forbidden" in err
    assert "audit: 2 services" in err and "audit: 1 virtualservices" in err


@pytest.mark.parametrize("fmt", ["text", "sarif", "junit"])
def test_every_format_names_the_kinds_not_read(
    fmt: str, server_role_cluster: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(server_role_cluster, tmp_path, capsys, "audit", "--format", fmt)
    assert status == 1
    if fmt == "text":
        assert f"not read (the API forbade listing them): {', '.join(NOT_IN_SERVER_ROLE)}\n" in out
        assert out.endswith(
            ", 8 kinds not read, 0 findings dropped (they rest on the absence of objects not read)\n"
        )
    elif fmt == "sarif":
        (invocation,) = json.loads(out)["runs"][0]["invocations"]
        notes = [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]
        assert [n.split(" not read: ")[0] for n in notes] == NOT_IN_SERVER_ROLE
        assert invocation["executionSuccessful"] is True
    else:
        suite = ET.fromstring(out).find("testsuite")
        assert suite is not None and suite.get("skipped") == "8"
        skipped = [c.get("name") for c in suite.iter("testcase") if c.find("skipped") is not None]
        assert skipped == NOT_IN_SERVER_ROLE


def test_findings_that_rest_on_a_kind_not_read_are_dropped_and_counted(
    make_fake: Callable[..., FakeApi], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    role = [
        rule | {"resources": [r for r in rule["resources"] if r not in ("gateways", "destinationrules")]}
        for rule in SERVER_ROLE
    ]
    found = {}
    for name, fake in (("readable", make_fake()), ("narrow", make_fake(role=role))):
        fake.put(unnamed_port_service("ratings"))
        fake.put(subset_route("reviews"))
        status, out, err = run(fake, tmp_path, capsys, "audit", "--format", "json")
        report = json.loads(out)
        found[name] = (status, {(f["code"], f["object"]["name"]) for f in report["findings"]})

    assert found["readable"][0] == 1
    assert {("MW301", "reviews"), ("MW305", "reviews"), ("MW201", "ratings")} <= found["readable"][1]
    assert found["narrow"] == (0, found["readable"][1] - {("MW301", "reviews"), ("MW305", "reviews")})
    assert report["summary"]["dropped"] == 2
    assert "audit: 2 finding(s) left out: they rest on the absence of objects of kinds not read" in err


def test_check_against_a_cluster_with_pods_forbidden_drops_what_rests_on_pods(
    make_fake: Callable[..., FakeApi], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    role = [rule | {"resources": [r for r in rule["resources"] if r != "pods"]} for rule in SERVER_ROLE]
    manifest = tmp_path / "gateway.yaml"
    manifest.write_text(yaml.safe_dump(o.gateway("bookinfo-gateway")))
    codes = {}
    for name, fake in (("readable", make_fake()), ("no pods", make_fake(role=role))):
        _, out, err = run(fake, tmp_path, capsys, "check", str(manifest), "--cluster", "--format", "json")
        report = json.loads(out)
        codes[name] = [f["code"] for f in report["findings"]]

    assert "MW401" in codes["readable"], "no pod in the cluster is selected"
    assert codes["no pods"] == [c for c in codes["readable"] if c != "MW401"]
    assert [u["resource"] for u in report["unread"]] == ["pods"]
    assert report["summary"]["dropped"] == 1
    assert "check: cannot read pods, skipped: 403 Forbidden: pods is forbidden" in err
