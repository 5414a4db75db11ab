"""The admission decision (webhook.server.admission) with the live inventory as its source: the
issue's end-to-end scenarios, short of HTTP."""

from __future__ import annotations

from typing import Any

from tests.cluster import objects as o
from tests.cluster.fakeapi import FakeApi
from tests.polling import wait_for
from webhook.cluster import LiveSource
from webhook.engine import Engine
from webhook.kinds import GATEWAY
from webhook.policy import Policy
from webhook.server.admission import Confirmation, Decision, Verdict, admit
from webhook.server.review import parse_review


def review(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "0df28fbd-5f5f-4a6e-9b55-2e7c3a1b4c5d",
            "kind": {"group": "networking.istio.io", "version": "v1", "kind": obj["kind"]},
            "operation": "CREATE",
            "namespace": obj["metadata"]["namespace"],
            "name": obj["metadata"]["name"],
            "object": obj,
        },
    }


def decide(live: LiveSource, obj: dict[str, Any]) -> Verdict:
    return admit(parse_review(review(obj)), Engine(Policy()), live)


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
