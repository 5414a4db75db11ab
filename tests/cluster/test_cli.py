"""`meshwarden check --cluster` and `meshwarden audit` against the fake API server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.cluster import objects as o
from tests.cluster.fakeapi import FakeApi
from webhook.commands import main


@pytest.fixture
def kubeconfig(fake: FakeApi, tmp_path: Path) -> str:
    return str(fake.write_kubeconfig(tmp_path / "kubeconfig"))


def codes(output: str) -> list[tuple[str, str]]:
    return sorted((f["code"], f["object"]["name"]) for f in json.loads(output)["findings"])


def test_check_against_the_cluster_finds_the_gateway_the_files_use(
    fake: FakeApi, kubeconfig: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.put(o.gateway("bookinfo-gateway", host="bookinfo.example.com"))
    fake.put(o.service("reviews"))
    manifest = tmp_path / "vs.yaml"
    manifest.write_text(
        yaml.safe_dump(
            o.virtual_service(
                "bookinfo", host="bookinfo.example.com", gateways=["istio-system/bookinfo-gateway"]
            )
        )
    )
    cluster = ["--cluster", "--kubeconfig", kubeconfig, "--kube-context", "fake", "--format", "json"]

    assert main(["check", str(manifest), "--format", "json", "--fail-on", "never"]) == 0
    assert ("MW301", "bookinfo") in codes(capsys.readouterr().out), "alone, the file names a missing Gateway"

    assert main(["check", str(manifest), *cluster, "--fail-on", "never"]) == 0
    out, err = capsys.readouterr()
    assert ("MW301", "bookinfo") not in codes(out)
    assert "context: 1 gateways" in err


def test_audit_checks_every_covered_object_in_the_cluster(
    fake: FakeApi, kubeconfig: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.put(o.gateway("bookinfo-gateway"))
    fake.put(o.virtual_service("reviews", gateways=["bookinfo-gateway"]))  # in default: not found
    fake.put(o.service("reviews"))

    status = main(["audit", "--kubeconfig", kubeconfig, "--kube-context", "fake", "--format", "json"])

    out, err = capsys.readouterr()
    assert status == 1
    report = json.loads(out)
    (mw301,) = [f for f in report["findings"] if f["code"] == "MW301"]
    assert mw301["object"] == {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "namespace": "default",
        "name": "reviews",
    }
    assert "istio-system/bookinfo-gateway" in mw301["fix"]
    assert report["summary"]["objects"] == 3
    assert "audit: 1 virtualservices" in err and "audit: 1 services" in err


def test_a_cluster_that_cannot_be_read_is_a_usage_error(
    kubeconfig: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "--kubeconfig", kubeconfig, "--kube-context", "missing"]) == 2
    assert "cannot read the cluster" in capsys.readouterr().err
    assert main(["audit", "--kubeconfig", kubeconfig]) == 2, "the current context points at a closed port"
    assert "cannot read the cluster" in capsys.readouterr().err


def test_kubeconfig_without_cluster_is_refused(kubeconfig: str, tmp_path: Path) -> None:
    manifest = tmp_path / "svc.yaml"
    manifest.write_text(yaml.safe_dump(o.service("reviews")))
    assert main(["check", str(manifest), "--kubeconfig", kubeconfig]) == 2
