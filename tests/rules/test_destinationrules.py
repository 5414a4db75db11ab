"""MW501 dr-subset-selects-nothing, MW502 dr-tls-without-ca."""

from textwrap import dedent

import pytest

from tests.helpers import only, run, said
from webhook.findings import Lookup
from webhook.kinds import POD

REVIEWS = """
    apiVersion: v1
    kind: Service
    metadata: {name: reviews, namespace: shop}
    spec:
      selector: {app: reviews}
      ports: [{name: http, port: 9080}]
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: reviews-v1, namespace: shop}
    spec:
      template:
        metadata:
          labels: {app: reviews, version: v1}
        spec:
          containers: [{name: reviews}]
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: ratings-v2, namespace: shop, labels: {app: ratings, version: v2}}
    spec:
      containers: [{name: ratings}]
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: reviews-v3, namespace: other, labels: {app: reviews, version: v3}}
    spec:
      containers: [{name: reviews}]
"""


def stream(*documents: str) -> str:
    return "---\n".join(dedent(document) for document in documents)


def destination_rule(subsets: str, host: str = "reviews", namespace: str = "shop") -> str:
    return f"""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {{name: reviews, namespace: {namespace}}}
        spec:
          host: {host}
          subsets: {subsets}
    """


# --- MW501 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "subsets",
    [
        "[{name: v1, labels: {version: v1}}]",
        "[{name: all}]",
        "[{name: west, labels: {topology.kubernetes.io/region: us-west-1}}]",
        "[{name: v1-west, labels: {version: v1, topology.istio.io/network: net-1}}]",
    ],
)
def test_subsets_with_pods_pass(subsets: str) -> None:
    assert only(run(destination_rule(subsets), context=REVIEWS), "MW501") == []


@pytest.mark.parametrize("host", ["reviews", "reviews.shop.svc.cluster.local"])
def test_host_resolves_to_the_service(host: str) -> None:
    findings = only(
        run(destination_rule("[{name: v2, labels: {version: v2}}]", host), context=REVIEWS), "MW501"
    )
    assert said(findings) == [("MW501/no-pod-with-labels", "spec.subsets[0].labels")]


def test_subset_without_pods_is_found_per_subset() -> None:
    subsets = (
        "[{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}},"
        " {name: v3, labels: {version: v3}}]"
    )
    findings = only(run(destination_rule(subsets), context=REVIEWS), "MW501")
    assert said(findings) == [
        ("MW501/no-pod-with-labels", "spec.subsets[1].labels"),
        ("MW501/no-pod-with-labels", "spec.subsets[2].labels"),
    ]
    first = findings[0]
    assert '"v2"' in first.message and "version=v2" in first.message and "app=reviews" in first.message
    assert "version=v2" in first.fix and "version=v1" in first.fix  # what the Service's pods do carry
    assert first.action == "warn"
    unrouted = only(run(destination_rule(subsets), context=REVIEWS, policy="rules: {MW501: deny}"), "MW501")
    assert [f.action for f in unrouted] == ["warn", "warn"], "no VirtualService routes to them yet"
    assert first.missing == (Lookup(POD, "shop"),)


def test_subset_a_virtual_service_routes_to_means_503_now() -> None:
    virtual_service = """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews, namespace: shop}
        spec:
          hosts: [reviews]
          http:
          - route:
            - destination: {host: reviews.shop.svc.cluster.local, subset: v2}
    """
    manifests = destination_rule("[{name: v2, labels: {version: v2}}]")
    findings = only(run(manifests, context=stream(REVIEWS, virtual_service)), "MW501")
    assert said(findings) == [("MW501/no-pod-with-labels", "spec.subsets[0].labels")]
    assert "VirtualService shop/reviews routes to it, so those requests get 503 now" in findings[0].message
    routed = only(
        run(manifests, context=stream(REVIEWS, virtual_service), policy="rules: {MW501: deny}"), "MW501"
    )
    assert [f.action for f in routed] == ["deny"]


def test_mirror_destinations_count_as_routing() -> None:
    virtual_service = """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: shadow, namespace: shop}
        spec:
          hosts: [reviews]
          http:
          - route:
            - destination: {host: reviews, subset: v1}
            mirror: {host: reviews, subset: v2}
    """
    manifests = destination_rule("[{name: v2, labels: {version: v2}}]")
    findings = only(run(manifests, context=stream(REVIEWS, virtual_service)), "MW501")
    assert "VirtualService shop/shadow routes to it" in findings[0].message


def test_pods_of_other_services_or_namespaces_do_not_count() -> None:
    # ratings-v2 has version v2 but not app=reviews; reviews-v3 is in another namespace
    subsets = "[{name: v2, labels: {version: v2}}, {name: v3, labels: {version: v3}}]"
    assert said(run(destination_rule(subsets), context=REVIEWS), "MW501") == [
        ("MW501/no-pod-with-labels", "spec.subsets[0].labels"),
        ("MW501/no-pod-with-labels", "spec.subsets[1].labels"),
    ]


def test_host_without_service_is_left_to_mw308() -> None:
    manifests = destination_rule("[{name: v9, labels: {version: v9}}]", host="details")
    assert only(run(manifests, context=REVIEWS), "MW501") == []


def test_empty_topology_label_matches_nothing() -> None:
    subsets = '[{name: nowhere, labels: {topology.kubernetes.io/region: ""}}]'
    findings = only(run(destination_rule(subsets), context=REVIEWS), "MW501")
    assert said(findings) == [("MW501/topology-label-empty", "spec.subsets[0].labels")]
    assert "give topology.kubernetes.io/region the node value" in findings[0].fix


def test_subset_contradicting_the_service_selector() -> None:
    findings = only(run(destination_rule("[{name: x, labels: {app: ratings}}]"), context=REVIEWS), "MW501")
    assert said(findings) == [("MW501/contradicts-selector", "spec.subsets[0].labels")]
    assert 'remove app from subset "x"' in findings[0].fix


@pytest.mark.parametrize(
    ("selector", "text"),
    [("{app: reviews}", "no pod matches the Service's selector at all"), ("{}", "the namespace has no pod")],
)
def test_a_service_without_pods_asks_for_its_workload(selector: str, text: str) -> None:
    service = REVIEWS.split("---")[0].replace("selector: {app: reviews}", f"selector: {selector}")
    findings = only(run(destination_rule("[{name: v1, labels: {version: v1}}]"), context=service), "MW501")
    assert said(findings) == [("MW501/service-has-no-pods", "spec.subsets[0].labels")]
    assert text in findings[0].message
    assert findings[0].fix.startswith("deploy the workload behind Service shop/reviews with pod labels ")


def test_subset_check_needs_a_complete_inventory() -> None:
    manifests = destination_rule("[{name: v2, labels: {version: v2}}]")
    assert only(run(manifests, context=REVIEWS, complete=False), "MW501") == []


# --- MW502 ---------------------------------------------------------------------------------------


def tls_rule(traffic_policy: str, subsets: str = "[]") -> str:
    return f"""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {{name: db}}
        spec:
          host: db.example.com
          trafficPolicy: {traffic_policy}
          subsets: {subsets}
    """


@pytest.mark.parametrize(
    "traffic_policy",
    [
        "{tls: {mode: SIMPLE, caCertificates: /etc/certs/ca.pem}}",
        "{tls: {mode: MUTUAL, credentialName: db-client}}",
        "{tls: {mode: ISTIO_MUTUAL}}",
        "{tls: {mode: DISABLE}}",
        "{portLevelSettings: [{port: {number: 443}, tls: {mode: MUTUAL, caCertificates: /ca.pem}}]}",
        "{loadBalancer: {simple: ROUND_ROBIN}}",
    ],
)
def test_verified_or_mesh_tls_passes(traffic_policy: str) -> None:
    assert only(run(tls_rule(traffic_policy)), "MW502") == []


@pytest.mark.parametrize(
    ("traffic_policy", "subsets", "paths"),
    [
        ("{tls: {mode: SIMPLE}}", "[]", ["spec.trafficPolicy.tls"]),
        (
            "{portLevelSettings: [{port: {number: 80}}, {port: {number: 443}, tls: {mode: MUTUAL}}]}",
            "[]",
            ["spec.trafficPolicy.portLevelSettings[1].tls"],
        ),
        (
            "{tls: {mode: MUTUAL}, portLevelSettings: [{port: {number: 443}, tls: {mode: SIMPLE}}]}",
            "[]",
            ["spec.trafficPolicy.tls", "spec.trafficPolicy.portLevelSettings[0].tls"],
        ),
        (
            "{}",
            "[{name: legacy, trafficPolicy: {tls: {mode: SIMPLE}, "
            "portLevelSettings: [{port: {number: 8443}, tls: {mode: SIMPLE}}]}}]",
            ["spec.subsets[0].trafficPolicy.tls", "spec.subsets[0].trafficPolicy.portLevelSettings[0].tls"],
        ),
    ],
)
def test_unverified_tls_is_found_per_setting(traffic_policy: str, subsets: str, paths: list[str]) -> None:
    findings = only(run(tls_rule(traffic_policy, subsets)), "MW502")
    assert said(findings) == [("MW502/os-trust-store-only", path) for path in paths]
    assert all("db.example.com" in f.message and "caCertificates" in f.fix for f in findings)
    assert all(f.action == "warn" for f in findings)


def test_port_and_subset_are_named() -> None:
    subsets = (
        "[{name: legacy, trafficPolicy: {portLevelSettings: [{port: {number: 8443}, tls: {mode: SIMPLE}}]}}]"
    )
    findings = only(run(tls_rule("{}", subsets)), "MW502")
    assert "port 8443" in findings[0].message and '"legacy"' in findings[0].message


def test_reason_follows_the_istio_version() -> None:
    current = only(run(tls_rule("{tls: {mode: SIMPLE}}")), "MW502")[0]
    assert current.message_id == "MW502/os-trust-store-only"
    old = only(run(tls_rule("{tls: {mode: SIMPLE}}"), policy="mesh: {istioVersion: '1.19'}"), "MW502")[0]
    assert old.message_id == "MW502/not-verified"
    assert "with Istio 1.19 (mesh.istioVersion)" in old.message


@pytest.mark.parametrize(
    ("traffic_policy", "path"),
    [
        ("{tls: {mode: SIMPLE, insecureSkipVerify: true}}", "spec.trafficPolicy.tls.insecureSkipVerify"),
        (
            "{tls: {mode: MUTUAL, caCertificates: /ca.pem, insecureSkipVerify: true}}",
            "spec.trafficPolicy.tls.insecureSkipVerify",
        ),
        (
            "{portLevelSettings: [{port: {number: 443}, tls: {mode: SIMPLE, credentialName: c, "
            "insecureSkipVerify: true}}]}",
            "spec.trafficPolicy.portLevelSettings[0].tls.insecureSkipVerify",
        ),
    ],
)
def test_insecure_skip_verify_is_found(traffic_policy: str, path: str) -> None:
    findings = only(run(tls_rule(traffic_policy)), "MW502")
    assert said(findings) == [("MW502/insecure-skip-verify", path)]
    assert "remove insecureSkipVerify" in findings[0].fix


@pytest.mark.parametrize(
    "traffic_policy",
    [
        "{tls: {mode: SIMPLE, caCertificates: /ca.pem, insecureSkipVerify: false}}",
        "{tls: {mode: ISTIO_MUTUAL, insecureSkipVerify: true}}",
        "{tls: {mode: DISABLE, insecureSkipVerify: true}}",
    ],
)
def test_insecure_skip_verify_off_or_outside_simple_and_mutual_passes(traffic_policy: str) -> None:
    assert only(run(tls_rule(traffic_policy)), "MW502") == []


def test_tls_check_needs_no_inventory() -> None:
    findings = run(tls_rule("{tls: {mode: SIMPLE}}"), complete=False)
    assert said(findings, "MW502") == [("MW502/os-trust-store-only", "spec.trafficPolicy.tls")]
