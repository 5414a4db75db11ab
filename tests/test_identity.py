"""Objects are identified by API group, kind, namespace and name: Istio's Gateway and the Gateway
API's Gateway of the same name are two objects, and only Istio's is checked or found by an Istio
lookup (MW301 looks the Gateway API's up too, by name: Istio binds a VirtualService to it)."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import pytest

from tests.helpers import only, run
from webhook.commands import main
from webhook.engine import Engine
from webhook.inventory import Inventory
from webhook.inventory.source import StaticSource
from webhook.kinds import GATEWAY, INGRESS
from webhook.loader import load_text
from webhook.model import GroupKind, Resource, group_kind_of
from webhook.policy import Policy
from webhook.server.admission import Decision, admit
from webhook.server.review import parse_review

SAMPLES = Path(__file__).resolve().parent / "samples" / "bookinfo"
K8S_GATEWAY = GroupKind("gateway.networking.k8s.io", "Gateway")

ISTIO_GATEWAY = """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: web, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["shop.example.com"]
"""
VIRTUAL_SERVICE = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec:
  hosts: ["shop.example.com"]
  gateways: ["web"]
  http:
  - route:
    - destination: {host: shop.example.com}
"""
GATEWAY_API_GATEWAY = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: web, namespace: shop}
spec:
  gatewayClassName: istio
  listeners:
  - {name: http, hostname: other.example.com, port: 80, protocol: HTTP}
"""
# The ingress gateway the Istio Gateways select, as an Istio install creates it.
INGRESS_GATEWAY = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: istio-ingressgateway, namespace: istio-system}
spec:
  selector:
    matchLabels: {istio: ingressgateway}
  template:
    metadata:
      labels: {istio: ingressgateway, app: istio-ingressgateway}
      annotations: {inject.istio.io/templates: gateway}
    spec:
      containers:
      - {name: istio-proxy, image: auto}
---
apiVersion: v1
kind: Service
metadata: {name: istio-ingressgateway, namespace: istio-system}
spec:
  type: LoadBalancer
  selector: {istio: ingressgateway}
  ports:
  - {name: http2, port: 80, targetPort: 8080}
  - {name: https, port: 443, targetPort: 8443}
"""


def documents(*parts: str) -> str:
    return "---\n".join(dedent(part) for part in parts)


@pytest.mark.parametrize("order", ["istio first", "gateway api first"])
def test_a_gateway_api_gateway_of_the_same_name_neither_replaces_nor_is_checked(order: str) -> None:
    gateways = [ISTIO_GATEWAY, GATEWAY_API_GATEWAY]
    if order == "gateway api first":
        gateways.reverse()
    findings = run(documents(*gateways, VIRTUAL_SERVICE))
    assert not only(findings, "MW303")
    assert not only(findings, "MW301")
    assert not [f for f in findings if f.object.group_kind == K8S_GATEWAY]


def test_a_gateway_api_gateway_is_bound_to_but_its_hosts_are_never_judged() -> None:
    """Istio binds a VirtualService to a Gateway API Gateway it names (MW301 accepts it), but its
    listeners are no Istio server hosts: the VirtualService's shop.example.com is not judged against
    other.example.com."""
    findings = run(documents(GATEWAY_API_GATEWAY, VIRTUAL_SERVICE))
    assert not only(findings, "MW301")
    assert not only(findings, "MW303")


def test_the_inventory_keeps_both_gateways_apart() -> None:
    resources, _ = load_text(documents(ISTIO_GATEWAY, GATEWAY_API_GATEWAY), "g.yaml")
    inventory = Inventory(resources)
    istio = inventory.get(GATEWAY, "shop", "web")
    assert istio is not None and istio.body["apiVersion"] == "networking.istio.io/v1"
    assert [g.body["apiVersion"] for g in inventory.of_kind(K8S_GATEWAY)] == ["gateway.networking.k8s.io/v1"]
    assert inventory.named(GATEWAY, "web") == [istio]


def test_objects_of_one_name_are_found_in_every_namespace_until_removed() -> None:
    def gateway(namespace: str) -> Resource:
        return Resource(
            {
                "apiVersion": "networking.istio.io/v1",
                "kind": "Gateway",
                "metadata": {"name": "web", "namespace": namespace},
            }
        )

    inventory = Inventory([gateway("a"), gateway("b"), gateway("c")])
    inventory.add(gateway("a"))  # replaced: found once, now after the others
    assert [g.namespace for g in inventory.named(GATEWAY, "web")] == ["b", "c", "a"]
    inventory.remove(gateway("b").ref)
    assert [g.namespace for g in inventory.named(GATEWAY, "web")] == ["c", "a"]
    inventory.remove(gateway("c").ref)
    inventory.remove(gateway("a").ref)
    assert inventory.named(GATEWAY, "web") == []
    assert inventory.named(GATEWAY, "other") == []


def test_the_same_object_in_another_version_replaces_it() -> None:
    v1beta1 = ISTIO_GATEWAY.replace("networking.istio.io/v1", "networking.istio.io/v1beta1")
    resources, _ = load_text(documents(ISTIO_GATEWAY, v1beta1), "g.yaml")
    inventory = Inventory(resources)
    assert [g.body["apiVersion"] for g in inventory.of_kind(GATEWAY)] == ["networking.istio.io/v1beta1"]


def test_kinds_that_moved_group_keep_their_identity() -> None:
    assert group_kind_of("extensions/v1beta1", "Ingress") == INGRESS
    assert group_kind_of("networking.k8s.io/v1", "Ingress") == INGRESS
    assert group_kind_of("v1", "Ingress") != INGRESS


def test_cli_skips_and_counts_kinds_of_other_groups(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "shop.yaml"
    manifest.write_text(documents(ISTIO_GATEWAY, GATEWAY_API_GATEWAY, VIRTUAL_SERVICE))
    main(["check", "--format", "json", "--fail-on", "never", str(manifest)])
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["objects"] == 2
    assert report["summary"]["skipped"] == 1
    assert all(f["object"]["apiVersion"].startswith("networking.istio.io/") for f in report["findings"])


def test_bookinfo_with_both_gateway_kinds_checks_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    context = tmp_path / "istio-system.yaml"
    context.write_text(dedent(INGRESS_GATEWAY))
    code = main(["check", "--format", "json", "--context", str(context), str(SAMPLES)])
    report = json.loads(capsys.readouterr().out)
    assert report["findings"] == [], json.dumps(report["findings"], indent=1)
    assert code == 0
    assert report["summary"]["skipped"] == 2 + 4  # Gateway API Gateway and HTTPRoute; 4 ServiceAccounts


def test_suppression_accepts_kind_dot_group(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = tmp_path / "vs.yaml"
    manifest.write_text(dedent(VIRTUAL_SERVICE))
    main(
        [
            "check",
            "--format",
            "json",
            "--suppress",
            "MW301=VirtualService.networking.istio.io/shop/*",
            str(manifest),
        ]
    )
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["code"], f["suppressed"]) for f in findings if f["code"] == "MW301"] == [("MW301", True)]


def test_suppression_of_a_kind_the_rule_does_not_check_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "vs.yaml"
    manifest.write_text(dedent(VIRTUAL_SERVICE))
    assert main(["check", "--suppress", "MW401=Gateway.gateway.networking.k8s.io/*/*", str(manifest)]) == 2
    assert (
        "MW401 checks no kind 'Gateway.gateway.networking.k8s.io' (it checks Gateway)"
        in capsys.readouterr().err
    )


def test_the_server_skips_a_gateway_api_gateway() -> None:
    review = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "u-1",
            "kind": {"group": "gateway.networking.k8s.io", "version": "v1", "kind": "Gateway"},
            "operation": "CREATE",
            "namespace": "shop",
            "name": "web",
            "object": load_text(dedent(GATEWAY_API_GATEWAY), "g.yaml")[0][0].body,
        },
    }
    verdict = admit(parse_review(review), Engine(Policy()), StaticSource(known=True))
    assert verdict.decision is Decision.SKIP
    assert verdict.message == "kind Gateway.gateway.networking.k8s.io is not checked"
