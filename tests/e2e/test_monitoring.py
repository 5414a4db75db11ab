"""The dashboard's and the alerts' queries name only series the real server exports: checked
against a scrape of `meshwarden serve` watching the tests' fake Kubernetes API, after one review of
each outcome and one policy reload, so that every labelled series exists. The API server's own
`apiserver_admission_webhook_*` metrics are checked in tests/test_monitoring.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.cluster import objects as o
from tests.cluster.fakeapi import FakeApi
from tests.e2e.harness import AtomicDir, Certs, Server, start_server
from tests.e2e.reviews import example, review
from tests.monitoring import APISERVER_WEBHOOK_METRICS, TARGET_LABELS, queries, selectors
from tests.polling import wait_for

POLICY = b"rules:\n  MW201: deny\n"
RELOADED = b"rules:\n  MW201: warn\n"


@pytest.fixture
def server(certs: Certs, tmp_path: Path) -> Iterator[tuple[Server, AtomicDir]]:
    api = FakeApi().start()
    api.put(o.namespace("default"))
    api.put(o.namespace("istio-system"))
    policy = AtomicDir(tmp_path / "config", ("policy.yaml",))
    policy.publish({"policy.yaml": POLICY})
    kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
    args = [
        "--kubeconfig",
        str(kubeconfig),
        "--kube-context",
        "fake",
        "--config",
        str(policy.path("policy.yaml")),
    ]
    running = start_server(certs, tmp_path / "server.log", args)
    yield running, policy
    running.stop()
    api.stop()


def exported(server: Server) -> dict[str, set[str]]:
    """Every series name in a scrape, with the label names its samples carry."""
    labels: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(server.metrics()):
        for sample in family.samples:
            labels.setdefault(sample.name, set()).update(sample.labels)
    return labels


def test_every_query_selects_series_the_server_exports(server: tuple[Server, AtomicDir]) -> None:
    running, policy = server
    assert running.review(example("review-pod-deny.json")).status == 200  # findings, latency
    missing_gateway = o.virtual_service("reviews", host="bookinfo.example.com", gateways=["bookinfo-gateway"])
    assert running.review(review(missing_gateway)).response["allowed"] is False  # absence confirmed
    assert running.request("POST", "/validate", b"not json").status == 400
    policy.publish({"policy.yaml": RELOADED})
    wait_for(lambda: "meshwarden_policy_reloads_total" in exported(running), "the policy reload")

    series = exported(running)
    checked = 0
    for query in queries():
        for selector in selectors(query):
            if selector.metric in APISERVER_WEBHOOK_METRICS:
                continue
            assert selector.metric in series, f"{query.where}: the server exports no {selector.metric}"
            unknown = selector.labels - series[selector.metric] - TARGET_LABELS
            assert not unknown, f"{query.where}: {selector.metric} has no label {unknown}"
            checked += 1
    assert checked >= 20
