"""MW301 vs-gateway-not-found, MW302 vs-gateway-reference-form, MW303 vs-host-not-in-gateway,
MW304 vs-gateways-without-mesh."""

from pathlib import Path

import pytest

from tests.helpers import only, run, said
from webhook.findings import Autofix, Edit, Lookup, Safety
from webhook.kinds import GATEWAY, GATEWAY_API_GATEWAY

# Istio's analyzer case (Apache-2.0, see tests/conformance/istio/README.md): a Gateway API Gateway
# default/my-gateway, and two VirtualServices bound to it, one of them with a host it does not listen on.
KUBERNETES_GATEWAYS = (
    Path(__file__).resolve().parents[1] / "conformance" / "istio" / "virtualservice_kubernetes_gateways.yaml"
).read_text(encoding="utf-8")


def vs(
    gateways: str = "[]", hosts: str = '["shop.example.com"]', namespace: str = "shop", extra: str = ""
) -> str:
    return f"""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {{name: web, namespace: {namespace}}}
        spec:
          hosts: {hosts}
          gateways: {gateways}
          http:
          - route:
            - destination: {{host: web}}
{extra}
    """


def gateway(name: str = "public", namespace: str = "istio-system", hosts: str = '["*.example.com"]') -> str:
    return f"""
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {{name: {name}, namespace: {namespace}}}
        spec:
          selector: {{istio: ingressgateway}}
          servers:
          - port: {{number: 80, name: http, protocol: HTTP}}
            hosts: {hosts}
    """


# --- MW301 ---------------------------------------------------------------------------------------


def test_bare_name_of_a_gateway_in_istio_system_suggests_the_qualified_reference() -> None:
    findings = only(run(vs('["public"]'), context=gateway()), "MW301")
    assert said(findings) == [("MW301/gateway-in-other-namespace", "spec.gateways[0]")]
    assert findings[0].action == "deny"
    assert findings[0].fix == 'use "istio-system/public"'
    assert findings[0].missing == (
        Lookup(GATEWAY, "shop", "public"),
        Lookup(GATEWAY_API_GATEWAY, "shop", "public"),
    )


def test_gateways_of_that_name_in_several_namespaces_are_all_offered() -> None:
    world = gateway() + "\n---\n" + gateway(namespace="edge")
    findings = only(run(vs('["public"]'), context=world), "MW301")
    assert said(findings) == [("MW301/gateway-in-other-namespace", "spec.gateways[0]")]
    assert findings[0].fix == 'use "edge/public" or "istio-system/public"'


def test_missing_gateway_without_namesake_asks_to_create_it() -> None:
    findings = only(run(vs('["istio-system/nope"]'), context=gateway()), "MW301")
    assert said(findings) == [("MW301/gateway-not-found", "spec.gateways[0]")]
    assert 'create Gateway "istio-system/nope"' in findings[0].fix


@pytest.mark.parametrize(
    "gateways",
    ['["mesh", "istio-system/public"]', '["mesh"]', '["public.istio-system.svc.cluster.local"]', '["./own"]'],
)
def test_existing_gateways_and_mesh_pass(gateways: str) -> None:
    world = gateway() + "\n---\n" + gateway("own", "shop")
    assert only(run(vs(gateways), context=world), "MW301") == []


def test_match_level_gateway_references_count_one_finding_each() -> None:
    extra = """
          - match:
            - gateways: ["istio-system/public", "ghost"]
              uri: {prefix: /a}
            route:
            - destination: {host: web}
    """
    manifest = vs('["istio-system/public"]').replace(
        "          http:\n", "          http:\n" + extra.strip("\n") + "\n"
    )
    findings = only(run(manifest, context=gateway()), "MW301")
    assert said(findings) == [("MW301/gateway-not-found", "spec.http[0].match[0].gateways[1]")]


def test_a_gateway_api_gateway_of_that_namespace_and_name_is_bound_to_as_istio_does() -> None:
    findings = run(KUBERNETES_GATEWAYS)
    assert said(findings, "MW301") == []
    assert said(findings, "MW303") == [], "Istio rules never judge a Gateway API Gateway's hosts"


def test_a_reference_to_a_gateway_api_gateway_in_another_namespace_is_not_found() -> None:
    near_miss = KUBERNETES_GATEWAYS.replace("- default/my-gateway", "- shop/my-gateway")
    findings = only(run(near_miss), "MW301")
    assert said(findings) == [("MW301/gateway-in-other-namespace", "spec.gateways[0]")] * 2
    assert {f.fix for f in findings} == {'use "default/my-gateway"'}


def test_a_name_that_is_neither_kind_of_gateway_is_not_found() -> None:
    near_miss = KUBERNETES_GATEWAYS.replace("- default/my-gateway", "- default/their-gateway")
    findings = only(run(near_miss), "MW301")
    assert said(findings) == [("MW301/gateway-not-found", "spec.gateways[0]")] * 2
    assert {f.fix for f in findings} == {
        'create Gateway "default/their-gateway" or correct the reference "default/their-gateway"'
    }


def test_an_istio_gateway_of_the_same_name_is_the_one_whose_hosts_are_judged() -> None:
    istio = gateway("my-gateway", "default", hosts='["example.com"]')
    findings = only(run(KUBERNETES_GATEWAYS, context=istio), "MW303")
    assert [(f.object.name, *said([f])[0]) for f in findings] == [
        ("my-vs-host-mismatch", "MW303/host-not-served", "spec.gateways[0]")
    ]


@pytest.mark.parametrize(
    ("gateways", "path", "written"),
    [
        ('["public"]', ("spec", "gateways", 0), "public"),
        ('["./public"]', ("spec", "gateways", 0), "./public"),
        ('["shop/public"]', ("spec", "gateways", 0), "shop/public"),
        (
            '["mesh", "public.shop.svc.cluster.local"]',
            ("spec", "gateways", 1),
            "public.shop.svc.cluster.local",
        ),
    ],
)
def test_a_reference_to_its_own_namespace_is_fixed_to_the_one_namesake_elsewhere(
    gateways: str, path: tuple[str | int, ...], written: str
) -> None:
    [finding] = only(run(vs(gateways), context=gateway()), "MW301")
    step = f"spec.gateways[{path[-1]}]"
    assert finding.autofix == Autofix(
        f'set {step} to "istio-system/public"', (Edit(path, written, "istio-system/public"),), Safety.SAFE
    )


def test_a_match_level_reference_is_fixed_where_it_is() -> None:
    extra = "            match: [{gateways: [public]}]"
    [finding] = only(run(vs('["istio-system/public"]', extra=extra), context=gateway()), "MW301")
    assert finding.autofix is not None
    assert finding.autofix.edits == (
        Edit(("spec", "http", 0, "match", 0, "gateways", 0), "public", "istio-system/public"),
    )
    assert finding.autofix.title == 'set spec.http[0].match[0].gateways[0] to "istio-system/public"'


@pytest.mark.parametrize(
    ("gateways", "context"),
    [
        ('["public"]', gateway() + "---" + gateway(namespace="edge")),  # which one?
        ('["other/public"]', gateway()),  # a namespace written out may be meant
        ('["public"]', ""),  # nothing of that name anywhere
    ],
)
def test_no_fix_when_the_gateway_meant_is_not_certain(gateways: str, context: str) -> None:
    findings = only(run(vs(gateways), context=context), "MW301")
    assert findings and [f.autofix for f in findings] == [None]


def test_gateway_lookup_is_skipped_when_the_inventory_is_partial() -> None:
    assert only(run(vs('["public"]'), complete=False), "MW301") == []


# --- MW302 ---------------------------------------------------------------------------------------


def test_relative_reference_is_denied_with_the_namespace_spelled_out() -> None:
    findings = only(run(vs('["./own"]')), "MW302")
    assert said(findings) == [("MW302/relative-form", "spec.gateways[0]")]
    assert [(f.action, f.fix) for f in findings] == [("deny", 'write "shop/own"')]


def test_dotted_reference_is_a_warning_in_the_default_profile_and_denied_in_strict() -> None:
    manifest = vs('["public.istio-system.svc.cluster.local"]')
    findings = only(run(manifest), "MW302")
    assert said(findings) == [("MW302/dotted-form", "spec.gateways[0]")]
    assert [(f.action, f.fix) for f in findings] == [("warn", 'write "istio-system/public"')]
    assert [f.action for f in only(run(manifest, policy="profile: strict"), "MW302")] == ["deny"]


@pytest.mark.parametrize(
    ("written", "meant"),
    [("./own", "shop/own"), ("public.istio-system.svc.cluster.local", "istio-system/public")],
)
def test_a_relative_or_dotted_reference_is_fixed_to_the_qualified_form_istio_reads(
    written: str, meant: str
) -> None:
    [finding] = only(run(vs(f'["mesh", "{written}"]')), "MW302")
    assert finding.autofix == Autofix(
        f'set spec.gateways[1] to "{meant}"', (Edit(("spec", "gateways", 1), written, meant),), Safety.SAFE
    )


@pytest.mark.parametrize("gateways", ['["own"]', '["istio-system/public"]', '["mesh", "own"]'])
def test_plain_references_pass(gateways: str) -> None:
    assert only(run(vs(gateways)), "MW302") == []


# --- MW303 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hosts", "server_hosts"),
    [
        ('["shop.example.com"]', '["*.example.com"]'),
        ('["*.example.com"]', '["shop.example.com"]'),
        ('["shop.example.com"]', '["*"]'),
        ('["*"]', '["shop.example.com"]'),
        ('["other.org", "shop.example.com"]', '["shop.example.com"]'),
        ('["shop.example.com"]', '["*/shop.example.com"]'),
        ('["shop.example.com"]', '["shop/shop.example.com"]'),
    ],
)
def test_hosts_served_by_the_gateway_pass(hosts: str, server_hosts: str) -> None:
    manifest = vs('["istio-system/public"]', hosts)
    assert only(run(manifest, context=gateway(hosts=server_hosts)), "MW303") == []


@pytest.mark.parametrize(
    ("hosts", "server_hosts", "message_id"),
    [
        ('["example.com"]', '["*.example.com"]', "MW303/host-not-served"),
        ('["shop.example.org"]', '["*.example.com"]', "MW303/host-not-served"),
        ('["shop.example.com"]', '["./shop.example.com"]', "MW303/host-for-other-namespace"),
        ('["shop.example.com"]', '["payments/shop.example.com"]', "MW303/host-for-other-namespace"),
    ],
)
def test_hosts_the_gateway_does_not_serve_are_found(hosts: str, server_hosts: str, message_id: str) -> None:
    manifest = vs('["istio-system/public"]', hosts)
    findings = only(run(manifest, context=gateway(hosts=server_hosts)), "MW303")
    assert said(findings) == [(message_id, "spec.gateways[0]")]
    assert findings[0].action == "deny"
    assert '"istio-system/public"' in findings[0].message


def test_dot_slash_server_host_admits_virtual_services_in_the_gateway_namespace() -> None:
    manifest = vs('["istio-system/public"]', namespace="istio-system")
    assert only(run(manifest, context=gateway(hosts='["./shop.example.com"]')), "MW303") == []
    findings = only(
        run(vs('["istio-system/public"]'), context=gateway(hosts='["./shop.example.com"]')), "MW303"
    )
    assert said(findings) == [("MW303/host-for-other-namespace", "spec.gateways[0]")]
    assert 'move the VirtualService to namespace "istio-system"' in findings[0].fix


def test_one_finding_per_gateway_reference_that_serves_no_host() -> None:
    world = (
        gateway("api", hosts='["*.api.example.com"]')
        + "\n---\n"
        + gateway("www", hosts='["*.www.example.com"]')
    )
    manifest = vs('["istio-system/api", "istio-system/www"]', '["user.api.example.com"]')
    findings = only(run(manifest, context=world), "MW303")
    assert said(findings) == [("MW303/host-not-served", "spec.gateways[1]")]


def test_gateway_without_servers_serves_nothing_and_missing_gateways_are_left_to_mw301() -> None:
    world = """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: empty, namespace: shop}
        spec:
          selector: {istio: ingressgateway}
    """
    findings = only(run(vs('["empty", "ghost", "mesh"]', '["*"]'), context=world), "MW303")
    assert said(findings) == [("MW303/gateway-has-no-servers", "spec.gateways[0]")]


def test_servers_without_hosts_serve_nothing() -> None:
    world = gateway("hostless", "shop").replace('            hosts: ["*.example.com"]\n', "")
    findings = only(run(vs('["hostless"]', '["*"]'), context=world), "MW303")
    assert said(findings) == [("MW303/gateway-has-no-hosts", "spec.gateways[0]")]


# --- MW304 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    ["reviews", "reviews.shop", "reviews.shop.svc", "reviews.other.svc.cluster.local"],
)
def test_gateway_only_virtual_service_for_a_mesh_host_is_found(host: str) -> None:
    findings = only(run(vs('["istio-system/public"]', f'["{host}"]')), "MW304")
    assert said(findings) == [("MW304/mesh-not-listed", "spec.gateways")]
    assert findings[0].action == "warn"
    assert f'"{host}"' in findings[0].message
    assert 'add "mesh" to spec.gateways ("istio-system/public", "mesh")' in findings[0].fix


def test_adding_mesh_is_an_unsafe_fix_that_appends_it() -> None:
    [finding] = only(run(vs('["istio-system/public", "shop/edge"]', '["reviews"]')), "MW304")
    assert finding.autofix == Autofix(
        'add "mesh" to spec.gateways', (Edit(("spec", "gateways", 2), None, "mesh"),), Safety.UNSAFE
    )


@pytest.mark.parametrize(
    ("gateways", "host"),
    [
        ('["istio-system/public", "mesh"]', "reviews"),
        ("[]", "reviews"),
        ('["istio-system/public"]', "example.com"),
        ('["istio-system/public"]', "*"),
        ('["istio-system/public"]', "*.svc.cluster.local"),
        ('["istio-system/public"]', "reviews.unknown-namespace"),
    ],
)
def test_mesh_bound_or_external_hosts_pass(gateways: str, host: str) -> None:
    assert only(run(vs(gateways, f'["{host}"]')), "MW304") == []


def test_host_with_a_known_namespace_as_last_label_is_mesh_internal() -> None:
    namespace = "apiVersion: v1\nkind: Namespace\nmetadata: {name: com}\n"
    findings = only(run(vs('["istio-system/public"]', '["example.com"]'), context=namespace), "MW304")
    assert said(findings) == [("MW304/mesh-not-listed", "spec.gateways")]


def test_fqdn_of_a_known_service_is_mesh_internal() -> None:
    service = """
        apiVersion: v1
        kind: Service
        metadata: {name: api, namespace: shop}
        spec:
          ports: [{name: http, port: 80}]
    """
    manifest = vs('["istio-system/public"]', '["api.shop.svc.cluster.local"]')
    assert said(run(manifest, context=service), "MW304") == [("MW304/mesh-not-listed", "spec.gateways")]
