"""MW305 vs-subset-undefined, MW308 vs-destination-unknown, MW310 vs-mesh-host-conflict."""

import pytest

from tests.helpers import only, run, said
from webhook.findings import Autofix, Edit, Lookup, Safety
from webhook.kinds import DESTINATION_RULE, SERVICE


def vs(http: str, namespace: str = "shop", name: str = "web", head: str = "hosts: [web]") -> str:
    return f"""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {{name: {name}, namespace: {namespace}}}
        spec:
          {head}
          http: {http}
    """


def to(host: str, subset: str = "", port: str = "") -> str:
    fields = [f'host: "{host}"']
    fields += [f"subset: {subset}"] if subset else []
    fields += [f"port: {{number: {port}}}"] if port else []
    return f"[{{route: [{{destination: {{{', '.join(fields)}}}}}]}}]"


def destination_rule(
    host: str = "reviews", namespace: str = "shop", subsets: str = "[v1]", export: str = ""
) -> str:
    names = ", ".join(
        f"{{name: {s}, labels: {{version: {s}}}}}" for s in subsets.strip("[]").split(", ") if s
    )
    return f"""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {{name: {host.split(".")[0].strip("*") or "all"}, namespace: {namespace}}}
        spec:
          host: "{host}"
          {f"exportTo: {export}" if export else ""}
          subsets: [{names}]
    """


def service(
    name: str = "reviews",
    namespace: str = "shop",
    ports: str = "[{name: http, port: 9080}]",
    annotations: str = "{}",
) -> str:
    return f"""
        apiVersion: v1
        kind: Service
        metadata: {{name: {name}, namespace: {namespace}, annotations: {annotations}}}
        spec:
          selector: {{app: {name}}}
          ports: {ports}
    """


def service_entry(host: str, namespace: str = "shop", export: str = "") -> str:
    return f"""
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {{name: entry, namespace: {namespace}}}
        spec:
          hosts: ["{host}"]
          {f"exportTo: {export}" if export else ""}
    """


def join(*documents: str) -> str:
    return "\n---\n".join(documents)


# --- MW305 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "world"),
    [
        ("reviews", destination_rule()),
        ("reviews.shop.svc.cluster.local", destination_rule()),
        ("reviews", destination_rule("reviews.shop.svc.cluster.local", "other")),
        ("reviews", destination_rule("*.shop.svc.cluster.local")),
        (
            "reviews",
            destination_rule(export='["shop"]', namespace="other", host="reviews.shop.svc.cluster.local"),
        ),
    ],
)
def test_subsets_defined_by_a_visible_destination_rule_pass(host: str, world: str) -> None:
    assert only(run(vs(to(host, "v1")), context=world), "MW305") == []


def test_undefined_subset_names_the_defined_ones() -> None:
    findings = only(run(vs(to("reviews", "v2")), context=destination_rule()), "MW305")
    assert said(findings) == [("MW305/subset-not-in-rule", "spec.http[0].route[0].destination.subset")]
    assert findings[0].action == "deny"
    assert 'DestinationRule "shop/reviews" defines "v1"' in findings[0].message
    assert findings[0].fix == 'add subset "v2" to DestinationRule "shop/reviews", or route to one of "v1"'
    assert findings[0].missing == ()  # the DestinationRule is present: nothing rests on an absence


def test_undefined_subset_without_any_destination_rule_rests_on_its_absence() -> None:
    (finding,) = only(run(vs(to("reviews", "v2"))), "MW305")
    assert said([finding]) == [("MW305/no-destination-rule", "spec.http[0].route[0].destination.subset")]
    assert (
        finding.fix
        == 'create a DestinationRule with host "reviews.shop.svc.cluster.local" and a subset named "v2"'
    )
    assert finding.missing == (Lookup(DESTINATION_RULE, "", None),)


def test_subset_of_a_destination_rule_hidden_by_export_to_is_undefined() -> None:
    world = destination_rule("reviews.shop.svc.cluster.local", "other", export='["."]')
    findings = only(run(vs(to("reviews", "v1")), context=world), "MW305")
    assert said(findings) == [("MW305/subset-not-exported", "spec.http[0].route[0].destination.subset")]
    assert 'add "shop" to spec.exportTo of DestinationRule "other/reviews"' in findings[0].fix


def test_short_host_resolves_in_the_virtual_service_namespace() -> None:
    findings = only(run(vs(to("reviews", "v1"), namespace="web"), context=destination_rule()), "MW305")
    assert said(findings) == [("MW305/no-destination-rule", "spec.http[0].route[0].destination.subset")]
    assert "reviews.web.svc.cluster.local" in findings[0].message


def test_every_subset_reference_counts_mirrors_and_tcp_routes_included() -> None:
    http = """
          - route: [{destination: {host: reviews, subset: v1}}, {destination: {host: reviews, subset: v3}}]
            mirror: {host: reviews, subset: v4}
            mirrors: [{destination: {host: reviews, subset: v5}}]
          tcp:
          - route: [{destination: {host: reviews, subset: v6}}]
    """
    findings = only(run(vs("\n" + http), context=destination_rule()), "MW305")
    assert said(findings) == [
        ("MW305/subset-not-in-rule", "spec.http[0].route[1].destination.subset"),
        ("MW305/subset-not-in-rule", "spec.http[0].mirror.subset"),
        ("MW305/subset-not-in-rule", "spec.http[0].mirrors[0].destination.subset"),
        ("MW305/subset-not-in-rule", "spec.tcp[0].route[0].destination.subset"),
    ]


# --- MW308 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "world"),
    [
        ("reviews", service()),
        ("reviews.shop.svc.cluster.local", service()),
        ("reviews.other.svc.cluster.local", service(namespace="other")),
        (
            "reviews.other.svc.cluster.local",
            service(namespace="other", annotations='{networking.istio.io/exportTo: "shop"}'),
        ),
        ("reviews", service(annotations='{networking.istio.io/exportTo: "."}')),
        ("httpbin.org", ""),
        ("api.example.com", ""),
        ("*.example.com", ""),
        ("reviews.legacy.svc.cluster.local", service_entry("reviews.legacy.svc.cluster.local")),
        ("vm.mesh.svc.cluster.local", service_entry("*.mesh.svc.cluster.local", "infra")),
        ("reviews", service_entry("reviews", "shop")),
    ],
)
def test_resolvable_or_external_destinations_pass(host: str, world: str) -> None:
    assert only(run(vs(to(host)), context=world), "MW308") == []


def test_short_name_without_service_suggests_the_namespace_that_has_it() -> None:
    findings = only(run(vs(to("ratings")), context=service("ratings", "bookinfo")), "MW308")
    assert said(findings) == [("MW308/host-unknown", "spec.http[0].route[0].destination.host")]
    assert findings[0].action == "warn"
    assert 'host "ratings" (ratings.shop.svc.cluster.local)' in findings[0].message
    assert findings[0].fix == 'use "ratings.bookinfo.svc.cluster.local"'
    assert findings[0].missing == (Lookup(SERVICE, "shop", "ratings"),)


def test_service_hidden_by_its_export_annotation_is_found() -> None:
    world = service("details", "default", annotations='{networking.istio.io/exportTo: "banana"}')
    findings = only(run(vs(to("details.default.svc.cluster.local")), context=world), "MW308")
    assert said(findings) == [("MW308/service-not-exported", "spec.http[0].route[0].destination.host")]
    assert (
        'add "shop" to the networking.istio.io/exportTo annotation of Service "default/details"'
        in findings[0].fix
    )


def test_service_entry_hidden_by_export_to_does_not_resolve() -> None:
    world = service_entry("*", "infra", export='["."]')
    assert said(run(vs(to("reviews")), context=world), "MW308") == [
        ("MW308/host-unknown", "spec.http[0].route[0].destination.host")
    ]


def test_dotted_short_form_is_not_expanded_by_istio() -> None:
    findings = only(run(vs(to("reviews.shop")), context=service()), "MW308")
    assert said(findings) == [("MW308/host-not-fqdn", "spec.http[0].route[0].destination.host")]
    assert findings[0].fix == 'use "reviews.shop.svc.cluster.local"'


HOST = ("spec", "http", 0, "route", 0, "destination", "host")


@pytest.mark.parametrize("host", ["reviews.shop", "reviews.shop.svc"])
def test_the_fqdn_of_the_service_a_dotted_host_names_is_a_safe_fix(host: str) -> None:
    [finding] = only(run(vs(to(host)), context=service()), "MW308")
    assert finding.autofix == Autofix(
        'set spec.http[0].route[0].destination.host to "reviews.shop.svc.cluster.local"',
        (Edit(HOST, host, "reviews.shop.svc.cluster.local"),),
        Safety.SAFE,
    )


def test_a_short_name_of_a_service_elsewhere_has_no_fix() -> None:
    # "ratings" names the VirtualService's own namespace; that the Service is elsewhere is a guess.
    [finding] = only(run(vs(to("ratings")), context=service("ratings", "bookinfo")), "MW308")
    assert finding.autofix is None


def test_host_like_example_com_is_external_unless_com_is_a_known_namespace() -> None:
    assert only(run(vs(to("example.com"))), "MW308") == []
    namespace = "apiVersion: v1\nkind: Namespace\nmetadata: {name: com}\n"
    assert said(run(vs(to("example.com")), context=namespace), "MW308") == [
        ("MW308/host-unknown", "spec.http[0].route[0].destination.host")
    ]


@pytest.mark.parametrize(
    ("port", "ports", "message_id", "path", "fix"),
    [
        (
            "999",
            "[{name: tcp, port: 42}]",
            "MW308/port-not-in-service",
            "spec.http[0].route[0].destination.port.number",
            "set port.number to 42",
        ),
        (
            "",
            "[{name: http, port: 80}, {name: https, port: 443}]",
            "MW308/port-unspecified",
            "spec.http[0].route[0].destination",
            "set port.number to one of 80, 443",
        ),
    ],
)
def test_destination_port_must_select_a_port_of_the_service(
    port: str, ports: str, message_id: str, path: str, fix: str
) -> None:
    findings = only(run(vs(to("reviews", port=port)), context=service(ports=ports)), "MW308")
    assert said(findings) == [(message_id, path)]
    assert [f.fix for f in findings] == [fix]


def test_a_target_port_is_fixed_to_the_service_port_in_front_of_it() -> None:
    ports = "[{name: http, port: 80, targetPort: 8080}, {name: admin, port: 9000, targetPort: 9001}]"
    [finding] = only(run(vs(to("reviews", port="8080")), context=service(ports=ports)), "MW308")
    path = ("spec", "http", 0, "route", 0, "destination", "port", "number")
    assert finding.autofix == Autofix(
        "set spec.http[0].route[0].destination.port.number to 80", (Edit(path, 8080, 80),), Safety.SAFE
    )
    assert finding.fix == "set port.number to 80, the Service's port for target port 8080"


@pytest.mark.parametrize(
    "ports",
    [
        "[{name: tcp, port: 42}]",  # one port, but nothing says 999 meant it
        "[{name: http, port: 80, targetPort: 999}, {name: alt, port: 81, targetPort: 999}]",
    ],
)
def test_no_port_fix_when_the_port_meant_is_not_certain(ports: str) -> None:
    [finding] = only(run(vs(to("reviews", port="999")), context=service(ports=ports)), "MW308")
    assert finding.message_id == "MW308/port-not-in-service"
    assert finding.autofix is None


def test_several_ports_with_a_port_selected_pass() -> None:
    ports = "[{name: http, port: 80}, {name: https, port: 443}]"
    assert only(run(vs(to("reviews", port="443")), context=service(ports=ports)), "MW308") == []


def test_destinations_without_host_and_every_mirror_count() -> None:
    http = """
          - route: [{destination: {host: ghost}}, {weight: 10}]
            mirror: {host: ghost}
          - match: [{uri: {prefix: /}}]
            route: [{destination: {host: ghost}}]
    """
    findings = only(run(vs("\n" + http)), "MW308")
    assert said(findings) == [
        ("MW308/host-unknown", "spec.http[0].route[0].destination.host"),
        ("MW308/no-host", "spec.http[0].route[1].destination"),
        ("MW308/host-unknown", "spec.http[0].mirror.host"),
        ("MW308/host-unknown", "spec.http[1].route[0].destination.host"),
    ]


# --- MW310 ---------------------------------------------------------------------------------------


def mesh_vs(name: str, namespace: str, host: str, extra: str = "") -> str:
    return vs(to("reviews"), namespace, name, f"hosts: [{host}]\n          {extra}")


def test_two_mesh_virtual_services_for_one_host_conflict_both_ways() -> None:
    first, second = mesh_vs("a", "shop", "reviews"), mesh_vs("b", "other", "reviews.shop.svc.cluster.local")
    findings = only(run(join(first, second)), "MW310")
    assert [(f.object.name, f.message_id, f.path, f.action) for f in findings] == [
        ("a", "MW310/host-conflict", "spec.hosts[0]", "deny"),
        ("b", "MW310/host-conflict", "spec.hosts[0]", "deny"),
    ]
    assert '"other/b"' in findings[0].message and '"shop/a"' in findings[1].message


def test_one_finding_per_other_virtual_service() -> None:
    manifests = join(
        mesh_vs("a", "shop", "reviews", "gateways: [mesh, istio-system/public]"),
        mesh_vs("b", "shop", "reviews"),
        mesh_vs("c", "shop", "reviews"),
    )
    findings = [f for f in only(run(manifests), "MW310") if f.object.name == "a"]
    assert said(findings) == [("MW310/host-conflict", "spec.hosts[0]")] * 2
    assert ['"shop/b"' in findings[0].message, '"shop/c"' in findings[1].message] == [True, True]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            mesh_vs("a", "shop", "reviews", 'exportTo: ["."]'),
            mesh_vs("a", "other", "reviews.shop.svc.cluster.local", 'exportTo: ["."]'),
        ),
        (mesh_vs("a", "shop", "reviews"), mesh_vs("b", "shop", "reviews", "gateways: [istio-system/public]")),
        (mesh_vs("a", "shop", "reviews"), mesh_vs("b", "shop", "ratings")),
        (mesh_vs("a", "shop", "reviews"), mesh_vs("b", "other", "reviews")),
        (mesh_vs("a", "foo", "'*.example.com'"), mesh_vs("b", "bar", "'*.com'")),
    ],
)
def test_separate_scopes_gateways_or_hosts_do_not_conflict(first: str, second: str) -> None:
    assert only(run(join(first, second)), "MW310") == []


def test_export_to_a_namespace_meets_export_to_everywhere() -> None:
    manifests = join(mesh_vs("a", "foo", "'*.x.com'", "exportTo: [foo]"), mesh_vs("b", "bar", "'*.x.com'"))
    findings = only(run(manifests), "MW310")
    assert said(findings) == [("MW310/host-conflict", "spec.hosts[0]")] * 2
    assert 'visible in namespace "foo"' in findings[0].message
