"""MW401 gateway-selector-no-workload, MW402 gateway-port-not-exposed, MW403 gateway-server-invalid,
MW404 gateway-conflict."""

from textwrap import dedent

import pytest

from tests.helpers import only, run, said
from webhook.engine import Engine
from webhook.findings import Lookup
from webhook.inventory import Inventory, World
from webhook.kinds import POD, SERVICE
from webhook.loader import load_text
from webhook.policy import Policy

INGRESS = """
    apiVersion: v1
    kind: Pod
    metadata:
      name: istio-ingressgateway-1
      namespace: istio-system
      labels: {istio: ingressgateway}
    spec:
      containers:
      - name: istio-proxy
        ports:
        - {name: https-alt, containerPort: 8443}
    ---
    apiVersion: v1
    kind: Service
    metadata:
      name: istio-ingressgateway
      namespace: istio-system
    spec:
      selector: {istio: ingressgateway}
      ports:
      - {name: http2, port: 80, targetPort: 8080}
      - {name: https, port: 443, protocol: TCP}
      - {name: dns, port: 53, protocol: UDP}
      - {name: tls-alt, port: 9443, targetPort: https-alt}
"""


def stream(*documents: str) -> str:
    """One multi-document YAML text from documents written at different indentations."""
    return "---\n".join(dedent(document) for document in documents)


def gateway(
    servers: str,
    selector: str = "istio: ingressgateway",
    name: str = "shop",
    namespace: str = "default",
    api_version: str = "networking.istio.io/v1",
) -> str:
    return f"""
        apiVersion: {api_version}
        kind: Gateway
        metadata:
          name: {name}
          namespace: {namespace}
        spec:
          selector: {{{selector}}}
          servers: {servers}
    """


def server(
    port: int = 80,
    host: str = "shop.example.com",
    name: str = "http",
    protocol: str = "HTTP",
    extra: str = "",
) -> str:
    return f"{{port: {{number: {port}, name: {name}, protocol: {protocol}}}, hosts: ['{host}']{extra}}}"


# --- MW401 ---------------------------------------------------------------------------------------


def test_selector_matching_a_pod_in_another_namespace_passes() -> None:
    assert only(run(gateway(f"[{server()}]"), context=INGRESS), "MW401") == []


def test_selector_matching_a_workload_template_passes() -> None:
    deployment = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: private-gateway}
        spec:
          template:
            metadata:
              labels: {app: private-gateway}
            spec:
              containers: [{name: istio-proxy}]
    """
    assert only(run(gateway(f"[{server()}]", "app: private-gateway"), context=deployment), "MW401") == []


def test_selector_matching_no_pod_is_found() -> None:
    findings = only(run(gateway(f"[{server()}]", "istio: ingresgateway"), context=INGRESS), "MW401")
    assert said(findings) == [("MW401/no-matching-pods", "spec.selector")]
    assert "istio=ingresgateway" in findings[0].message
    assert "istio: ingressgateway" in findings[0].fix
    assert findings[0].action == "warn"
    assert findings[0].missing == (Lookup(POD, ""),)


@pytest.mark.parametrize(
    "selector", ["istio: ingressgateway", "istio: egressgateway", "istio: eastwestgateway"]
)
def test_istios_own_gateway_missing_from_the_inputs_says_so(selector: str) -> None:
    findings = only(run(gateway(f"[{server()}]", selector)), "MW401")
    assert said(findings) == [("MW401/no-matching-pods", "spec.selector")]
    fix = findings[0].fix
    assert "not in the inputs" in fix and "--context" in fix and "--partial" in fix
    assert "set spec.selector" not in fix


@pytest.mark.parametrize("selector", ["istio: ingresgateway", "app: shop-gateway"])
def test_other_selectors_matching_nothing_suggest_the_default_gateway_labels(selector: str) -> None:
    findings = only(run(gateway(f"[{server()}]", selector)), "MW401")
    assert said(findings) == [("MW401/no-matching-pods", "spec.selector")]
    assert "set spec.selector" in findings[0].fix and "istio: ingressgateway" in findings[0].fix


def test_every_label_of_the_selector_must_be_on_one_pod() -> None:
    findings = only(
        run(gateway(f"[{server()}]", "istio: ingressgateway, team: shop"), context=INGRESS), "MW401"
    )
    assert said(findings) == [("MW401/no-matching-pods", "spec.selector")]
    assert "no pod has team=shop" in findings[0].message


def test_namespace_scoped_gateways_only_see_their_own_namespace() -> None:
    policy = "gateways: {namespaceScoped: true}"
    findings = only(run(gateway(f"[{server()}]"), context=INGRESS, policy=policy), "MW401")
    assert said(findings) == [("MW401/no-matching-pods", "spec.selector")]
    assert "pods matching it run in istio-system" in findings[0].fix
    assert findings[0].missing == (Lookup(POD, "default"),)
    in_place = gateway(f"[{server()}]", namespace="istio-system")
    assert only(run(in_place, context=INGRESS, policy=policy), "MW401") == []


def test_cross_rules_are_skipped_when_the_inventory_is_partial() -> None:
    findings = run(gateway(f"[{server(8004)}]", "istio: nothing"), complete=False)
    assert [f.code for f in findings if f.code in ("MW401", "MW402", "MW404")] == []


def test_kubernetes_gateway_api_gateways_are_not_istio_gateways() -> None:
    k8s_gateway = """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: shop}
        spec:
          gatewayClassName: istio
          listeners: [{name: http, port: 80, protocol: HTTP}]
    """
    assert [f.code for f in run(k8s_gateway) if f.code.startswith("MW4")] == []


# --- MW402 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "port",
    [
        80,  # a Service port
        8080,  # a targetPort
        443,  # a port without targetPort
        9443,  # a port whose named targetPort resolves to 8443
        8443,  # that named targetPort's number
    ],
)
def test_exposed_ports_pass(port: int) -> None:
    assert only(run(gateway(f"[{server(port)}]"), context=INGRESS), "MW402") == []


def test_service_port_without_protocol_counts_as_tcp() -> None:
    service = """
        apiVersion: v1
        kind: Service
        metadata: {name: istio-ingressgateway, namespace: istio-system}
        spec:
          selector: {istio: ingressgateway}
          ports: [{name: http, port: 8081}]
    """
    assert only(run(gateway(f"[{server(8081)}]"), context=stream(INGRESS, service)), "MW402") == []


def test_port_not_exposed_is_found_per_server() -> None:
    servers = f"[{server(80)}, {server(8004, name='http-a')}, {server(8005, name='http-b')}]"
    findings = only(run(gateway(servers), context=INGRESS), "MW402")
    assert said(findings) == [
        ("MW402/port-not-exposed", "spec.servers[1].port.number"),
        ("MW402/port-not-exposed", "spec.servers[2].port.number"),
    ]
    assert "8004" in findings[0].message and "istio-system/istio-ingressgateway" in findings[0].message
    assert "add a TCP port 8004" in findings[0].fix
    assert findings[0].missing == (Lookup(SERVICE, "istio-system"),)


def test_udp_service_ports_do_not_count() -> None:
    findings = only(run(gateway(f"[{server(53, name='tcp-dns', protocol='TCP')}]"), context=INGRESS), "MW402")
    assert said(findings) == [("MW402/port-udp-only", "spec.servers[0].port.number")]


def test_services_in_other_namespaces_or_for_other_pods_do_not_count() -> None:
    others = """
        apiVersion: v1
        kind: Service
        metadata: {name: lookalike, namespace: default}
        spec:
          selector: {istio: ingressgateway}
          ports: [{name: http, port: 8004}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: other-gateway, namespace: istio-system}
        spec:
          selector: {istio: other}
          ports: [{name: http, port: 8004}]
    """
    findings = run(gateway(f"[{server(8004)}]"), context=stream(INGRESS, others))
    assert said(findings, "MW402") == [("MW402/port-not-exposed", "spec.servers[0].port.number")]


def test_gateway_pods_without_any_service() -> None:
    pod = """
        apiVersion: v1
        kind: Pod
        metadata: {name: edge-1, labels: {app: edge}}
        spec: {containers: [{name: istio-proxy}]}
    """
    findings = only(run(gateway(f"[{server()}]", "app: edge"), context=pod), "MW402")
    assert said(findings) == [("MW402/no-service", "spec.servers[0].port.number")]
    assert "create a Service in namespace default" in findings[0].fix


def test_no_port_finding_when_the_selector_matches_nothing() -> None:
    findings = run(gateway(f"[{server(8004)}]", "istio: nothing"), context=INGRESS)
    assert [f.code for f in findings if f.code in ("MW401", "MW402")] == ["MW401"]


# --- MW403 ---------------------------------------------------------------------------------------


def tls_server(tls: str, protocol: str = "HTTPS", port: int = 443) -> str:
    return server(port, name=protocol.lower(), protocol=protocol, extra=f", tls: {tls}")


@pytest.mark.parametrize(
    "servers",
    [
        f"[{server(host='*')}]",
        f"[{server(host='*.example.com')}]",
        f"[{server(host='*/shop.example.com')}]",
        f"[{server(host='./shop.example.com')}]",
        f"[{server(host='prod/shop.example.com')}]",
        f"[{server(host='*/*')}]",
        f"[{server(protocol='http2')}]",
        f"[{tls_server('{httpsRedirect: true}', 'HTTP', 80)}]",
        f"[{tls_server('{httpsRedirect: true}', 'HTTP2', 80)}]",
        f"[{tls_server('{mode: SIMPLE, credentialName: shop-cert}')}]",
        f"[{tls_server('{mode: PASSTHROUGH}')}]",
        f"[{tls_server('{mode: ISTIO_MUTUAL}', 'TLS')}]",
        f"[{tls_server('{mode: MUTUAL, serverCertificate: /c.pem, privateKey: /k.pem}')}]",
        f"[{server(80, name='http')}, {server(80, name='http-api', host='api.example.com')}]",
    ],
)
def test_valid_servers_pass(servers: str) -> None:
    assert only(run(gateway(servers)), "MW403") == []


@pytest.mark.parametrize(
    ("servers", "message_id", "path"),
    [
        ("[{port: {number: 80, name: http, protocol: HTTP}}]", "no-hosts", "spec.servers[0].hosts"),
        (f"[{server(host='reviews')}]", "host-short-name", "spec.servers[0].hosts[0]"),
        (f"[{server(host='*foo.com')}]", "host-partial-wildcard", "spec.servers[0].hosts[0]"),
        (f"[{server(host='Bad_NS/foo.com')}]", "host-namespace-invalid", "spec.servers[0].hosts[0]"),
        (f"[{server(host='a/b/foo.com')}]", "host-several-slashes", "spec.servers[0].hosts[0]"),
        (f"[{server(host='')}]", "host-empty", "spec.servers[0].hosts[0]"),
        ("[{hosts: [foo.com]}]", "port-missing", "spec.servers[0].port"),
        (
            "[{port: {name: http, protocol: HTTP}, hosts: [foo.com]}]",
            "port-number-invalid",
            "spec.servers[0].port.number",
        ),
        (
            "[{port: {number: 80, protocol: HTTP}, hosts: [foo.com]}]",
            "port-name-missing",
            "spec.servers[0].port.name",
        ),
        (
            "[{port: {number: 80, name: http}, hosts: [foo.com]}]",
            "port-protocol-missing",
            "spec.servers[0].port.protocol",
        ),
        (f"[{server(protocol='HTTPX')}]", "port-protocol-unknown", "spec.servers[0].port.protocol"),
        (f"[{server(443, name='https', protocol='HTTPS')}]", "tls-missing", "spec.servers[0].port.protocol"),
        (
            f"[{tls_server('{httpsRedirect: true}')}]",
            "https-redirect-not-http",
            "spec.servers[0].tls.httpsRedirect",
        ),
        (
            f"[{tls_server('{httpsRedirect: true}', 'TCP')}]",
            "https-redirect-not-http",
            "spec.servers[0].tls.httpsRedirect",
        ),
        (f"[{tls_server('{mode: SIMPLE}')}]", "credential-missing", "spec.servers[0].tls"),
        (
            f"[{tls_server('{mode: MUTUAL, serverCertificate: /c.pem}')}]",
            "credential-missing",
            "spec.servers[0].tls",
        ),
    ],
)
def test_invalid_servers_are_found(servers: str, message_id: str, path: str) -> None:
    findings = only(run(gateway(servers)), "MW403")
    assert said(findings) == [(f"MW403/{message_id}", path)]
    assert findings[0].action == "deny"


def test_an_unknown_protocol_and_the_server_it_redirects_are_named() -> None:
    unknown = only(run(gateway(f"[{server(protocol='HTTPX')}]")), "MW403")
    assert 'port protocol "HTTPX"' in unknown[0].message
    redirect = only(run(gateway(f"[{tls_server('{httpsRedirect: true}', 'TCP')}]")), "MW403")
    assert "on a TCP server" in redirect[0].message


def test_gateway_without_servers_is_one_finding() -> None:
    manifest = """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: empty}
        spec:
          selector: {istio: ingressgateway}
    """
    findings = only(run(manifest), "MW403")
    assert said(findings) == [("MW403/no-servers", "spec.servers")]


def test_duplicate_port_name_counts_on_the_later_server_only() -> None:
    servers = f"[{server()}, {server(8080, host='api.example.com')}, {server(8081, name='http-b')}]"
    findings = only(run(gateway(servers)), "MW403")
    assert said(findings) == [("MW403/port-name-duplicate", "spec.servers[1].port.name")]
    assert "already used by spec.servers[0]" in findings[0].message
    assert '"http-8080"' in findings[0].fix


def test_several_problems_of_one_server_are_one_finding() -> None:
    findings = only(run(gateway("[{port: {number: 443, protocol: HTTPS}, hosts: [shop]}]")), "MW403")
    assert said(findings) == [("MW403/host-short-name", "spec.servers[0].hosts[0]")], "the first problem's"
    # the id names the first problem; the message lists all three
    assert "short name" in findings[0].message and "no name" in findings[0].message
    assert "no tls block" in findings[0].message


def test_server_validation_needs_no_inventory() -> None:
    findings = run(gateway(f"[{server(host='reviews')}]"), complete=False)
    assert said(findings, "MW403") == [("MW403/host-short-name", "spec.servers[0].hosts[0]")]


# --- MW404 ---------------------------------------------------------------------------------------


def two_gateways(
    first: str,
    second: str,
    first_selector: str = "istio: ingressgateway",
    second_selector: str = "istio: ingressgateway",
) -> str:
    return stream(
        gateway(f"[{first}]", first_selector, "alpha"), gateway(f"[{second}]", second_selector, "beta")
    )


def test_same_port_and_host_on_the_same_pods_conflict() -> None:
    findings = only(run(two_gateways(server(), server(protocol="TCP", name="tcp")), context=INGRESS), "MW404")
    assert sorted((f.object.name, f.message_id, f.path) for f in findings) == [
        ("alpha", "MW404/host-served-twice", "spec.servers[0].hosts[0]"),
        ("beta", "MW404/host-served-twice", "spec.servers[0].hosts[0]"),
    ]
    alpha = next(f for f in findings if f.object.name == "alpha")
    assert "default/beta" in alpha.message and "shop.example.com" in alpha.message
    assert "default/beta" in alpha.fix
    assert alpha.action == "deny"


TWICE = [("MW404/host-served-twice", "spec.servers[0].hosts[0]")] * 2


def test_any_namespace_prefix_is_the_same_host() -> None:
    manifests = two_gateways(server(host="*/shop.example.com"), server(host="shop.example.com"))
    assert said(run(manifests, context=INGRESS), "MW404") == TWICE


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            server(host="*.shop.example.com"),
            server(host="shop.example.com"),
        ),  # wildcard overlap is not identity
        (server(host="*.example.com"), server(host="api.example.com")),
        (server(80), server(8080)),
        (server(extra=", bind: 10.0.0.1"), server(extra=", bind: 10.0.0.2")),
        (server(extra=", bind: 10.0.0.1"), server()),
    ],
)
def test_near_misses_do_not_conflict(first: str, second: str) -> None:
    assert only(run(two_gateways(first, second), context=INGRESS), "MW404") == []


def test_same_bind_conflicts() -> None:
    manifests = two_gateways(server(extra=", bind: 10.0.0.1"), server(extra=", bind: 10.0.0.1"))
    assert said(run(manifests, context=INGRESS), "MW404") == TWICE


def test_selectors_of_disjoint_pods_do_not_conflict() -> None:
    internal = """
        apiVersion: v1
        kind: Pod
        metadata: {name: internal-gateway-1, namespace: istio-system, labels: {istio: internal}}
        spec: {containers: [{name: istio-proxy}]}
    """
    manifests = two_gateways(server(), server(), second_selector="istio: internal")
    assert only(run(manifests, context=stream(INGRESS, internal)), "MW404") == []


def test_different_selectors_that_select_a_common_pod_conflict() -> None:
    both = """
        apiVersion: v1
        kind: Pod
        metadata: {name: gateway-1, namespace: istio-system, labels: {istio: ingressgateway, tier: edge}}
        spec: {containers: [{name: istio-proxy}]}
    """
    manifests = two_gateways(server(), server(), second_selector="istio: ingressgateway, tier: edge")
    assert said(run(manifests, context=both), "MW404") == TWICE


def test_identical_selectors_conflict_without_pods() -> None:
    manifests = two_gateways(server(), server(), "app: edge", "app: edge")
    assert said(run(manifests), "MW404") == TWICE


def test_namespace_scoped_gateways_in_different_namespaces_do_not_conflict() -> None:
    manifests = stream(
        gateway(f"[{server()}]", name="alpha"), gateway(f"[{server()}]", name="beta", namespace="web")
    )
    assert said(run(manifests), "MW404") == TWICE
    assert only(run(manifests, policy="gateways: {namespaceScoped: true}"), "MW404") == []


def test_one_finding_per_server_names_every_other_gateway() -> None:
    third = gateway(f"[{server()}, {tls_server('{mode: PASSTHROUGH}')}]", name="gamma")
    findings = only(run(stream(two_gateways(server(), server()), third), context=INGRESS), "MW404")
    on_gamma = [f for f in findings if f.object.name == "gamma"]
    assert said(on_gamma) == [("MW404/host-served-twice", "spec.servers[0].hosts[0]")]
    assert "default/alpha" in on_gamma[0].message and "default/beta" in on_gamma[0].message


def test_servers_of_the_same_gateway_are_not_a_conflict() -> None:
    assert only(run(gateway(f"[{server()}, {server(name='http-2')}]"), context=INGRESS), "MW404") == []


def test_kubernetes_gateway_api_objects_are_not_conflicting_gateways() -> None:
    k8s_gateway = gateway(f"[{server()}]", name="beta", api_version="gateway.networking.k8s.io/v1")
    manifests = stream(gateway(f"[{server()}]", name="alpha"), k8s_gateway)
    assert only(run(manifests, context=INGRESS), "MW404") == []


def test_conflicts_follow_inventory_updates() -> None:
    resources, _ = load_text(dedent(two_gateways(server(), server())), "gateways.yaml")
    inventory = Inventory(resources)
    engine = Engine(Policy())
    alpha, beta = resources
    assert [f.code for f in engine.check(alpha, World(inventory)) if f.code == "MW404"] == ["MW404"]
    moved, _ = load_text(dedent(gateway(f"[{server(host='beta.example.com')}]", name="beta")), "beta.yaml")
    inventory.add(moved[0])
    assert [f.code for f in engine.check(alpha, World(inventory)) if f.code == "MW404"] == []
    inventory.remove(moved[0].ref)
    inventory.add(beta)
    assert [f.code for f in engine.check(alpha, World(inventory)) if f.code == "MW404"] == ["MW404"]
