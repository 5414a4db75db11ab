"""What /validate decides, end to end: real server, real rules, reviews as kube-apiserver sends them."""

from __future__ import annotations

import copy
import unicodedata
from typing import Any

import pytest

from tests.e2e.harness import Reply, Server
from tests.e2e.reviews import (
    bookinfo_pod,
    config_map,
    deployment,
    example,
    example_object,
    review,
    service,
    virtual_service,
)

FULL_IDENTITY = {"app": "productpage", "version": "v1"}
NO_VERSION = {"app": "productpage"}


def warnings_of(reply: Reply) -> list[str]:
    """The response's warnings, checked against the API server's rules for warning headers."""
    warnings: list[str] = reply.response.get("warnings", [])
    assert len(warnings) <= 11
    for warning in warnings:
        assert 0 < len(warning) <= 256, warning
        assert not any(unicodedata.category(c) in ("Cc", "Cs") for c in warning), repr(warning)
    return warnings


def assert_answer(reply: Reply, sent: dict[str, Any]) -> dict[str, Any]:
    """HTTP 200 and an AdmissionReview of the request's apiVersion with the request's uid."""
    assert reply.status == 200, reply.raw
    assert reply.headers["content-type"] == "application/json"
    assert reply.json["apiVersion"] == sent["apiVersion"]
    assert reply.json["kind"] == "AdmissionReview"
    assert reply.response["uid"] == sent["request"]["uid"]
    return reply.response


def assert_denied(reply: Reply, sent: dict[str, Any], *codes_and_paths: tuple[str, str]) -> str:
    response = assert_answer(reply, sent)
    assert response["allowed"] is False
    status = response["status"]
    assert (status["code"], status["reason"]) == (403, "Forbidden")
    message: str = status["message"]
    for code, path in codes_and_paths:
        assert f"- {code} " in message and f" at {path}: " in message, message
    assert message.count("\n  fix: ") == len(codes_and_paths)
    assert message.count("\n  docs: https://") == len(codes_and_paths)
    return message


def assert_allowed(reply: Reply, sent: dict[str, Any]) -> list[str]:
    response = assert_answer(reply, sent)
    assert response["allowed"] is True
    assert "status" not in response
    return warnings_of(reply)


def test_injected_bookinfo_pod_following_the_conventions_is_allowed_silently(server: Server) -> None:
    sent = review(bookinfo_pod())
    assert server.review(sent).response == {"uid": sent["request"]["uid"], "allowed": True}


def test_pod_missing_its_version_label_is_denied_with_path_fix_and_docs(server: Server) -> None:
    sent = example("review-pod-deny.json")
    message = assert_denied(server.review(sent), sent, ("MW101", "metadata.labels"))
    assert message.startswith("Pod bookinfo/productpage breaks 1 Istio convention")
    assert "meshwarden.io/suppress" in message


def test_every_denying_finding_is_listed(server: Server) -> None:
    pod = bookinfo_pod(labels=NO_VERSION, annotations={"sidecar.istio.io/interceptionMode": "BRIDGE"})
    sent = review(pod)
    assert_denied(
        server.review(sent),
        sent,
        ("MW101", "metadata.labels"),
        ("MW103", "metadata.annotations.sidecar.istio.io/interceptionMode"),
    )


def test_deployment_is_denied_at_apply_time_for_its_pod_template(server: Server) -> None:
    sent = example("review-deployment-deny.json")
    assert_denied(server.review(sent), sent, ("MW101", "spec.template.metadata.labels"))


def test_pod_created_by_a_replicaset_only_warns(server: Server) -> None:
    sent = review(bookinfo_pod(labels=NO_VERSION, owned=True))
    warnings = assert_allowed(server.review(sent), sent)
    assert [w.split(" ")[0] for w in warnings] == ["MW101"]
    assert warnings[0].startswith("MW101 metadata.labels: ")


def test_virtual_service_with_an_invalid_timeout_is_denied(server: Server) -> None:
    sent = example("review-virtualservice-deny.json")
    assert_denied(server.review(sent), sent, ("MW309", "spec.http[0].timeout"))


def test_virtual_service_naming_a_gateway_of_another_namespace_is_denied_with_the_fix(server: Server) -> None:
    spec = {
        "hosts": ["bookinfo.example.com"],
        "gateways": ["bookinfo-gateway"],
        "http": [{"route": [{"destination": {"host": "reviews", "port": {"number": 9080}}}]}],
    }
    sent = review(virtual_service(spec))
    message = assert_denied(server.review(sent), sent, ("MW301", "spec.gateways[0]"))
    assert "istio-system/bookinfo-gateway" in message


def test_virtual_service_through_an_existing_gateway_is_allowed(server: Server) -> None:
    spec = {
        "hosts": ["bookinfo.example.com"],
        "gateways": ["istio-system/bookinfo-gateway"],
        "http": [{"route": [{"destination": {"host": "reviews", "port": {"number": 9080}}}]}],
    }
    sent = review(virtual_service(spec))
    assert_allowed(server.review(sent), sent)


def test_warn_findings_become_single_line_warnings(server: Server) -> None:
    sent = review(service([{"port": 9080, "protocol": "TCP", "targetPort": 9080}]))
    warnings = assert_allowed(server.review(sent), sent)
    assert len(warnings) == 1
    assert warnings[0].startswith("MW201 spec.ports[0]: port 9080 ")


def test_at_most_ten_warnings_then_one_summary(server: Server) -> None:
    ports = [{"port": 9000 + i, "protocol": "TCP", "targetPort": 9000 + i} for i in range(15)]
    sent = review(service(ports))
    warnings = assert_allowed(server.review(sent), sent)
    assert len(warnings) == 11
    assert all(w.startswith("MW201 ") for w in warnings[:10])
    assert "5 more" in warnings[10]


def test_update_keeping_an_existing_violation_only_warns(server: Server) -> None:
    old = deployment(labels=NO_VERSION, replicas=1)
    new = deployment(labels=NO_VERSION, replicas=3)
    sent = review(new, "UPDATE", old=old)
    warnings = assert_allowed(server.review(sent), sent)
    assert len(warnings) == 1
    assert warnings[0].startswith("MW101 spec.template.metadata.labels: ")
    assert "already had this" in warnings[0]


def test_update_matches_an_existing_violation_by_path_when_its_message_changed(server: Server) -> None:
    old = deployment(labels={}, replicas=1)
    new = deployment(labels=NO_VERSION, replicas=1)
    sent = review(new, "UPDATE", old=old)
    warnings = assert_allowed(server.review(sent), sent)
    assert [w.split(" ")[0] for w in warnings] == ["MW101"]


def test_update_introducing_a_violation_is_denied(server: Server) -> None:
    old = deployment(labels=FULL_IDENTITY)
    new = deployment(labels=NO_VERSION)
    sent = review(new, "UPDATE", old=old)
    assert_denied(server.review(sent), sent, ("MW101", "spec.template.metadata.labels"))


def test_delete_is_allowed_without_evaluation(server: Server) -> None:
    sent = review(None, "DELETE", old=bookinfo_pod(labels=NO_VERSION))
    assert server.review(sent).response == {"uid": sent["request"]["uid"], "allowed": True}
    assert server.decision(sent["request"]["uid"])["decision"] == "skip"


def test_status_subresource_is_allowed_without_evaluation(server: Server) -> None:
    pod = bookinfo_pod(labels=NO_VERSION)
    sent = review(pod, "UPDATE", old=pod, sub_resource="status")
    assert server.review(sent).response == {"uid": sent["request"]["uid"], "allowed": True}
    assert server.decision(sent["request"]["uid"])["reason"] == "subresource status is not checked"


def test_connect_is_allowed_without_evaluation(server: Server) -> None:
    sent = review(bookinfo_pod(labels=NO_VERSION), "CONNECT", sub_resource="exec")
    sent["request"]["object"] = {
        "kind": "PodExecOptions",
        "apiVersion": "v1",
        "command": ["sh"],
        "stdin": True,
    }
    sent["request"]["kind"] = {"group": "", "version": "v1", "kind": "PodExecOptions"}
    assert server.review(sent).response == {"uid": sent["request"]["uid"], "allowed": True}


@pytest.mark.parametrize("namespace", ["kube-system", "legacy-shop", "meshwarden"])
def test_exempt_namespaces_are_allowed(server: Server, namespace: str) -> None:
    """From the policy (including a glob), and the server's own namespace (POD_NAMESPACE)."""
    sent = review(bookinfo_pod(labels=NO_VERSION, namespace=namespace))
    assert server.review(sent).response == {"uid": sent["request"]["uid"], "allowed": True}
    assert server.decision(sent["request"]["uid"])["reason"] == f"namespace {namespace} is exempt"


def test_namespace_override_applies_its_profile(server: Server) -> None:
    sent = review(bookinfo_pod(labels=NO_VERSION, namespace="audit-shop"))
    warnings = assert_allowed(server.review(sent), sent)
    assert [w.split(" ")[0] for w in warnings] == ["MW101"]


def test_kinds_no_rule_checks_are_allowed(server: Server) -> None:
    sent = review(config_map())
    assert server.review(sent).response == {"uid": sent["request"]["uid"], "allowed": True}


def test_suppressed_findings_neither_deny_nor_warn_but_are_logged(server: Server) -> None:
    pod = bookinfo_pod(
        labels=NO_VERSION,
        annotations={
            "meshwarden.io/suppress": "MW101",
            "meshwarden.io/suppress-reason": "legacy dashboards",
        },
    )
    sent = review(pod)
    assert server.review(sent).response == {"uid": sent["request"]["uid"], "allowed": True}
    logged = server.decision(sent["request"]["uid"])
    assert (logged["decision"], logged["suppressed"]) == ("allow", ["MW101"])


def test_dry_run_gets_the_same_answer_and_is_logged_as_such(server: Server) -> None:
    sent = copy.deepcopy(example("review-pod-deny.json"))
    sent["request"]["dryRun"] = True
    assert_denied(server.review(sent), sent, ("MW101", "metadata.labels"))
    assert server.decision(sent["request"]["uid"])["dryRun"] is True


def test_v1beta1_reviews_are_answered_in_v1beta1(server: Server) -> None:
    sent = review(example_object("review-pod-deny.json"), api_version="admission.k8s.io/v1beta1")
    assert_denied(server.review(sent), sent, ("MW101", "metadata.labels"))


def test_without_an_inventory_the_server_says_cross_checks_were_skipped(bare_server: Server) -> None:
    spec = {"hosts": ["reviews"], "http": [{"route": [{"destination": {"host": "reviews"}}]}]}
    sent = review(virtual_service(spec))
    warnings = assert_allowed(bare_server.review(sent), sent)
    assert warnings == [
        "cross-object checks skipped: the server has no inventory (no --context and no cluster access)"
    ]


def test_decision_log_names_the_object_and_codes_but_not_its_contents(server: Server) -> None:
    sent = example("review-pod-deny.json")
    server.review(sent)
    logged = server.decision(sent["request"]["uid"])
    fields = ("kind", "namespace", "name", "operation", "decision", "codes", "messageIds")
    assert {k: logged[k] for k in fields} == {
        "kind": "Pod",
        "namespace": "bookinfo",
        "name": "productpage",
        "operation": "CREATE",
        "decision": "deny",
        "codes": ["MW101"],
        "messageIds": ["MW101/no-version-label"],
    }
    assert logged["duration_ms"] > 0
    line = next(line for line in server.log.read_text().splitlines() if sent["request"]["uid"] in line)
    assert "examples-bookinfo-productpage" not in line
