"""The admission decision (webhook.server.admission) with the live inventory as its source: the
issue's end-to-end scenarios, short of HTTP."""

from __future__ import annotations

from typing import Any

from tests.cluster import objects as o
from tests.cluster.fakeapi import FakeApi
from tests.polling import wait_for
from webhook.cluster import LiveSource
from webhook.engine import Engine
from webhook.kinds import GATEWAY, INGRESS_CLASS, SERVICE
from webhook.policy import Policy, parse_policy
from webhook.rules import CATALOGUE
from webhook.server.admission import Confirmation, Decision, Verdict, admit
from webhook.server.review import parse_review


def review(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "0df28fbd-5f5f-4a6e-9b55-2e7c3a1b4c5d",
            "kind": {"group": obj["apiVersion"].rpartition("/")[0], "version": "v1", "kind": obj["kind"]},
            "operation": "CREATE",
            "namespace": obj["metadata"]["namespace"],
            "name": obj["metadata"]["name"],
            "object": obj,
        },
    }


def decide(live: LiveSource, obj: dict[str, Any], policy: Policy | None = None) -> Verdict:
    return admit(parse_review(review(obj)), Engine(policy or Policy()), live)


def codes(verdict: Verdict) -> list[str]:
    return [r.finding.code for r in verdict.reported]


VS = o.virtual_service("reviews", host="bookinfo.example.com", gateways=["bookinfo-gateway"])


def test_a_gateway_created_a_moment_earlier_is_found_then_its_deletion_denies(
    fake: FakeApi, live: LiveSource
) -> None:
    fake.put(o.gateway("bookinfo-gateway", "istio-system", host="bookinfo.example.com"))
    wait_for(lambda: live.inventory.get(GATEWAY, "istio-system", "bookinfo-gateway"), "the first Gateway")
    with fake.pause_events():  # `kubectl apply -f dir/`: the review comes before the watch event
        fake.put(o.gateway("bookinfo-gateway", "default", host="bookinfo.example.com"))
        verdict = decide(live, VS)
    assert verdict.decision is not Decision.DENY, verdict.message
    assert verdict.confirmation is Confirmation.FOUND
    assert "MW301" not in codes(verdict)

    fake.delete("Gateway", "default", "bookinfo-gateway")
    wait_for(lambda: live.inventory.get(GATEWAY, "default", "bookinfo-gateway") is None, "the deletion")
    verdict = decide(live, VS)
    assert verdict.decision is Decision.DENY
    assert verdict.confirmation is Confirmation.ABSENT
    assert 'use "istio-system/bookinfo-gateway"' in verdict.message


def test_api_down_skips_cross_rules_with_one_warning_while_the_others_decide(
    fake: FakeApi, live: LiveSource
) -> None:
    broken = o.virtual_service("reviews", host="bookinfo.example.com", gateways=["nowhere"])
    broken["spec"]["http"][0]["timeout"] = "10x"
    fake.down()
    wait_for(lambda: live.unavailable_reason() is not None, "the view to turn stale")

    verdict = decide(live, broken)

    assert verdict.decision is Decision.DENY
    assert "MW309" in codes(verdict)
    assert "MW301" not in codes(verdict)
    assert [n for n in verdict.notes if n.startswith("cross-object checks skipped")] == list(verdict.notes)
    assert len(verdict.notes) == 1


def test_a_named_target_port_resolves_through_the_container_ports_the_inventory_keeps(
    fake: FakeApi, live: LiveSource
) -> None:
    https = {"name": "https", "containerPort": 8443, "protocol": "TCP"}
    fake.put(o.pod("istio-ingressgateway-5c9f", "istio-system", ports=(https,), istio="ingressgateway"))
    gateway_service = o.service("istio-ingressgateway", "istio-system", app="ingressgateway")
    gateway_service["spec"] = {
        "selector": {"istio": "ingressgateway"},
        "ports": [{"name": "https", "port": 443, "targetPort": "https"}],
    }
    fake.put(gateway_service)
    wait_for(live.ready, "the first sync")
    wait_for(lambda: live.inventory.pods_matching({"istio": "ingressgateway"}), "the gateway pod")
    wait_for(lambda: live.inventory.of_kind(SERVICE), "the gateway's Service")
    gateway = o.gateway("shop", "istio-system", host="shop.example.com")
    gateway["spec"]["servers"][0]["port"] = {"number": 8443, "name": "https", "protocol": "HTTPS"}
    gateway["spec"]["servers"][0]["tls"] = {"mode": "SIMPLE", "credentialName": "shop-cert"}
    assert codes(decide(live, gateway)) == []
    gateway["spec"]["servers"][0]["port"]["number"] = 9443
    assert codes(decide(live, gateway)) == ["MW402"]


def test_an_ingress_class_of_ingress_nginx_in_the_cluster_makes_mw601_apply(
    fake: FakeApi, live: LiveSource
) -> None:
    fake.put(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {"name": "public"},
            "spec": {"controller": "k8s.io/ingress-nginx"},
        }
    )
    wait_for(live.ready, "the first sync")
    wait_for(lambda: live.inventory.named(INGRESS_CLASS, "public"), "the IngressClass")
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "shop", "namespace": "default"},
        "spec": {
            "ingressClassName": "public",
            "defaultBackend": {"service": {"name": "web", "port": {"number": 80}}},
        },
    }
    assert codes(decide(live, ingress, parse_policy("ingressNginx: {meshed: true}", CATALOGUE))) == ["MW601"]
