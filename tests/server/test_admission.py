"""The admission decision on its own: absence confirmation against a cluster that answers (or not)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from webhook import kinds
from webhook.engine import Engine
from webhook.findings import Action, Lookup
from webhook.inventory import Inventory, World
from webhook.model import Resource
from webhook.policy import Policy
from webhook.server.admission import Confirmation, Decision, admit
from webhook.server.review import parse_review

GATEWAY: dict[str, Any] = {
    "apiVersion": "networking.istio.io/v1",
    "kind": "Gateway",
    "metadata": {"name": "bookinfo-gateway", "namespace": "bookinfo"},
    "spec": {
        "selector": {"istio": "ingressgateway"},
        "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}],
    },
}
VIRTUAL_SERVICE: dict[str, Any] = {
    "apiVersion": "networking.istio.io/v1",
    "kind": "VirtualService",
    "metadata": {"name": "bookinfo", "namespace": "bookinfo"},
    "spec": {
        "hosts": ["bookinfo.example.com"],
        "gateways": ["bookinfo-gateway"],
        "http": [{"route": [{"destination": {"host": "productpage"}}]}],
    },
}


class ClusterStandIn:
    """An InventorySource whose cache has not seen `truth` yet, as a live cache lags a fresh apply."""

    def __init__(self, truth: Sequence[dict[str, Any]], reachable: bool = True):
        self.truth = [Resource(body) for body in truth]
        self.reachable = reachable
        self.inventory = Inventory(
            [Resource({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bookinfo"}})]
        )
        self.asked: list[Lookup] = []

    def current(self) -> World:
        return World(self.inventory)

    def ready(self) -> bool:
        return True

    def confirm(self, lookups: Sequence[Lookup]) -> list[Resource] | None:
        self.asked.extend(lookups)
        if not self.reachable:
            return None
        found = [
            r
            for r in self.truth
            for lookup in lookups
            if r.group_kind == lookup.kind
            and r.namespace == lookup.namespace
            and lookup.name in (None, r.name)
        ]
        for resource in found:
            self.inventory.add(resource)
        return found


def request_for(obj: dict[str, Any]) -> Any:
    return parse_review(
        {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": "u-1",
                "kind": {"group": "networking.istio.io", "version": "v1", "kind": obj["kind"]},
                "namespace": obj["metadata"]["namespace"],
                "name": obj["metadata"]["name"],
                "operation": "CREATE",
                "object": obj,
            },
        }
    )


def test_a_missing_object_confirmed_absent_denies() -> None:
    source = ClusterStandIn([])
    verdict = admit(request_for(VIRTUAL_SERVICE), Engine(Policy()), source)
    assert verdict.decision is Decision.DENY
    assert verdict.confirmation is Confirmation.ABSENT
    assert source.asked == [
        Lookup(kinds.GATEWAY, "bookinfo", "bookinfo-gateway"),
        Lookup(kinds.GATEWAY_API_GATEWAY, "bookinfo", "bookinfo-gateway"),
    ]
    assert "MW301" in verdict.message


def test_an_object_the_cache_had_not_seen_yet_is_found_and_the_review_is_re_evaluated() -> None:
    source = ClusterStandIn([GATEWAY])
    verdict = admit(request_for(VIRTUAL_SERVICE), Engine(Policy()), source)
    assert verdict.confirmation is Confirmation.FOUND
    assert "MW301" not in {r.finding.code for r in verdict.reported}
    assert verdict.allowed


def test_a_gateway_api_gateway_the_cache_had_not_seen_yet_is_found_too() -> None:
    gateway_api_gateway = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "bookinfo-gateway", "namespace": "bookinfo"},
        "spec": {
            "gatewayClassName": "istio",
            "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}],
        },
    }
    verdict = admit(request_for(VIRTUAL_SERVICE), Engine(Policy()), ClusterStandIn([gateway_api_gateway]))
    assert verdict.confirmation is Confirmation.FOUND
    assert "MW301" not in {r.finding.code for r in verdict.reported}


def test_when_absence_cannot_be_confirmed_the_denial_becomes_a_warning_that_says_so() -> None:
    source = ClusterStandIn([GATEWAY], reachable=False)
    verdict = admit(request_for(VIRTUAL_SERVICE), Engine(Policy()), source)
    assert verdict.confirmation is Confirmation.UNAVAILABLE
    assert verdict.allowed
    downgraded = [r for r in verdict.reported if r.finding.code == "MW301"]
    assert [(r.finding.action, r.action) for r in downgraded] == [(Action.DENY, Action.WARN)]
    assert any(
        w.startswith("MW301 spec.gateways[0]: ")
        and w.endswith(
            "[not denied: could not confirm with the API server that there is no Gateway "
            "bookinfo/bookinfo-gateway]"
        )
        for w in verdict.warnings
    ), verdict.warnings


def test_no_lookup_is_made_when_nothing_would_be_denied() -> None:
    source = ClusterStandIn([])
    policy = Policy(actions={"MW301": Action.WARN})
    verdict = admit(request_for(VIRTUAL_SERVICE), Engine(policy), source)
    assert source.asked == []
    assert verdict.confirmation is None
    assert verdict.decision is Decision.WARN
