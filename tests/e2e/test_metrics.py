"""/metrics: Prometheus text, the same whichever worker answers the scrape."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.harness import Server, send
from tests.e2e.reviews import bookinfo_pod, config_map, example, review

DAY = 86400.0


def samples(server: Server) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = server.metrics()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(metrics: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return metrics.get((name, frozenset(labels.items())), 0.0)


def test_counts_are_merged_across_workers(server: Server) -> None:
    before = value(
        samples(server),
        "meshwarden_admission_requests_total",
        kind="Pod",
        operation="CREATE",
        decision="deny",
    )
    for _ in range(20):
        connection = server.connect()  # new connections spread the requests over both workers
        try:
            assert send(connection, "POST", "/validate", example_bytes()).status == 200
        finally:
            connection.close()
    scrapes = [
        value(
            samples(server),
            "meshwarden_admission_requests_total",
            kind="Pod",
            operation="CREATE",
            decision="deny",
        )
        for _ in range(6)
    ]
    assert scrapes == [before + 20] * 6


def example_bytes() -> bytes:
    return orjson.dumps(example("review-pod-deny.json"))


def test_metrics_cover_decisions_findings_latency_certificate_and_policy(server: Server) -> None:
    server.review(example("review-pod-deny.json"))
    server.review(review(bookinfo_pod(annotations={"meshwarden.io/suppress": "MW101"}, labels={"app": "x"})))
    server.request("POST", "/validate", b"not json")
    metrics = samples(server)
    assert value(metrics, "meshwarden_findings_total", code="MW101", action="deny") >= 1
    assert value(metrics, "meshwarden_findings_total", code="MW101", action="suppressed") >= 1
    assert value(metrics, "meshwarden_admission_invalid_requests_total") >= 1
    assert value(metrics, "meshwarden_absence_confirmations_total", result="absent") >= 1
    assert value(metrics, "meshwarden_evaluation_duration_seconds_count", kind="Pod") >= 2
    assert value(metrics, "meshwarden_evaluation_duration_seconds_bucket", kind="Pod", le="+Inf") >= 2
    assert value(metrics, "meshwarden_admission_request_duration_seconds_count") >= 2
    assert 364 * DAY < value(metrics, "meshwarden_tls_certificate_expiry_seconds") <= 365 * DAY
    assert value(metrics, "meshwarden_policy_last_reload_success") == 1


def test_kinds_outside_the_catalogue_share_one_label(server: Server) -> None:
    sent = review(config_map())
    sent["request"]["kind"]["kind"] = sent["request"]["object"]["kind"] = "SomethingMadeUp"
    before = value(
        samples(server),
        "meshwarden_admission_requests_total",
        kind="other",
        operation="CREATE",
        decision="skip",
    )
    assert server.review(sent).response["allowed"] is True
    metrics = samples(server)
    assert (
        value(
            metrics, "meshwarden_admission_requests_total", kind="other", operation="CREATE", decision="skip"
        )
        == before + 1
    )
    assert not any(("kind", "SomethingMadeUp") in labels for _, labels in metrics)


def _mixed_reviews(rounds: int) -> list[tuple[str, dict[str, Any]]]:
    """Each round: one review of each outcome, with the decision it must get."""
    sent = []
    for _ in range(rounds):
        sent.append(("allow", review(bookinfo_pod())))
        sent.append(("deny", review(bookinfo_pod(labels={"app": "productpage"}))))
        sent.append(("warn", review(bookinfo_pod(labels={"app": "productpage"}, namespace="audit-shop"))))
        sent.append(("skip", review(None, "DELETE", old=bookinfo_pod())))
    return sent


def test_concurrent_reviews_on_both_workers_are_each_counted_and_logged_once(server: Server) -> None:
    rounds = 40
    sent = _mixed_reviews(rounds)
    labels = {decision: {"kind": "Pod", "decision": decision} for decision in ("allow", "deny", "warn")}
    labels["skip"] = {"kind": "Pod", "decision": "skip", "operation": "DELETE"}
    requests = "meshwarden_admission_requests_total"

    def counts() -> dict[str, float]:
        metrics = samples(server)
        return {
            **{d: value(metrics, requests, **{"operation": "CREATE", **labels[d]}) for d in labels},
            "MW101 deny": value(metrics, "meshwarden_findings_total", code="MW101", action="deny"),
            "MW101 warn": value(metrics, "meshwarden_findings_total", code="MW101", action="warn"),
            "timed": value(metrics, "meshwarden_admission_request_duration_seconds_count"),
            "evaluated": value(metrics, "meshwarden_evaluation_duration_seconds_count", kind="Pod"),
        }

    def answer(decision_and_review: tuple[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
        decision, body = decision_and_review
        connection = server.connect()  # new connections spread the requests over both workers
        try:
            reply = send(connection, "POST", "/validate", orjson.dumps(body))
        finally:
            connection.close()
        assert reply.status == 200
        response: dict[str, Any] = reply.response
        assert response["uid"] == body["request"]["uid"]
        return decision, response

    before = counts()
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(answer, sent))
    after = counts()

    for decision, response in answers:
        assert response["allowed"] is (decision != "deny")
        assert bool(response.get("warnings")) is (decision == "warn")
    added = {name: after[name] - before[name] for name in after}
    assert added == {
        "allow": rounds,
        "deny": rounds,
        "warn": rounds,
        "skip": rounds,
        "MW101 deny": rounds,
        "MW101 warn": rounds,
        "timed": 4 * rounds,
        "evaluated": 3 * rounds,
    }
    expected = {body["request"]["uid"]: decision for decision, body in sent}
    logged = [
        (line["uid"], line["decision"])
        for line in server.log_lines()  # each line parses as JSON: none was cut or interleaved
        if line.get("message") == "admission decision" and line.get("uid") in expected
    ]
    assert sorted(logged) == sorted(expected.items())
