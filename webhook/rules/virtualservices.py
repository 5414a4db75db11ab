"""VirtualService rules about gateway bindings (MW301–MW304).

Destinations and host conflicts (MW305, MW308, MW310) are in `vs_destinations`, routes (MW306,
MW307, MW309) in `vs_routes`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from webhook.findings import Action, Autofix, Edit, Lookup, Safety, Violation
from webhook.inventory import InventoryView
from webhook.inventory.detail import Detail
from webhook.istio.hosts import gateway_host_admits, gateway_host_matches, is_mesh_internal
from webhook.istio.virtualservice import MESH, GatewayRef, RefForm
from webhook.kinds import GATEWAY, GATEWAY_API_GATEWAY, NAMESPACE, SERVICE, VIRTUAL_SERVICE
from webhook.kube import fqdn
from webhook.model import Resource, as_dict, as_list, scalar_text
from webhook.rules.edits import field_path
from webhook.rules.registry import Context, Input, rule

VS_KINDS = {VIRTUAL_SERVICE}


def q(value: object) -> str:
    return f'"{scalar_text(value) if isinstance(value, (list, dict)) else value}"'


def qs(values: Iterable[object]) -> str:
    return ", ".join(q(v) for v in values)


# What deciding whether a host is mesh-internal reads: the known namespaces and Services.
MESH_INTERNAL_INPUTS = (
    Input(NAMESPACE, Detail.METADATA, optional=True),
    Input(SERVICE, Detail.METADATA, optional=True),
)


def rewrite_ref(ref: GatewayRef, text: str) -> Autofix:
    """The safe fix that writes a gateway reference as `text`."""
    edit = Edit(field_path(ref.path), ref.text, text)
    return Autofix(f"set {ref.path} to {q(text)}", (edit,), Safety.SAFE)


def mesh_internal(host: str, vs: Resource, inventory: InventoryView) -> bool:
    """The spec's mesh-internal host; the VirtualService's own namespace is known even before the
    VirtualService is stored."""
    return is_mesh_internal(
        host,
        known_namespace=lambda name: name == vs.namespace or inventory.is_known_namespace(name),
        known_service=lambda name: bool(inventory.services_for_host(fqdn(name, vs.namespace))),
    )


# --- MW301 -------------------------------------------------------------------------------------------

# What a VirtualService's gateway reference may name: Istio binds it to either kind.
BINDABLE_GATEWAYS = (GATEWAY, GATEWAY_API_GATEWAY)


@rule(
    code="MW301",
    name="vs-gateway-not-found",
    kinds=VS_KINDS,
    default=Action.DENY,
    inputs=(Input(GATEWAY, Detail.METADATA), Input(GATEWAY_API_GATEWAY, Detail.METADATA)),
    messages={
        "gateway-not-found": "no Gateway of that name exists in any namespace",
        "gateway-in-other-namespace": "no Gateway of that name exists in the namespace the reference means, "
        "but one does elsewhere",
    },
    fixes={"gateway-in-other-namespace": Safety.SAFE},
    summary="""
        Checks that every gateway a VirtualService names (in `spec.gateways` or in a match's
        `gateways`) is an existing Gateway. A bare name means the VirtualService's own namespace.
        A Gateway API Gateway (`gateway.networking.k8s.io`) of that namespace and name counts:
        Istio binds the VirtualService to it, as Istio's own analyzer accepts.
    """,
    why="""
        A VirtualService bound to a Gateway that does not exist configures nothing: requests at
        the ingress get 404. The classic case is a bare `public-gateway` while the Gateway lives
        in `istio-system`, so Istio looks for it in the VirtualService's namespace.
    """,
    fix="""
        Name the Gateway with its namespace, `istio-system/public-gateway`, or create it.
    """,
    bad="""
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: public-gateway, namespace: istio-system}
        spec:
          selector: {istio: ingressgateway}
          servers:
          - port: {number: 80, name: http, protocol: HTTP}
            hosts: ["shop.example.com"]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: shop, namespace: shop}
        spec:
          hosts: ["shop.example.com"]
          gateways: ["public-gateway"]
          http:
          - route:
            - destination: {host: web}
    """,
    good="""
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: public-gateway, namespace: istio-system}
        spec:
          selector: {istio: ingressgateway}
          servers:
          - port: {number: 80, name: http, protocol: HTTP}
            hosts: ["shop.example.com"]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: shop, namespace: shop}
        spec:
          hosts: ["shop.example.com"]
          gateways: ["istio-system/public-gateway"]
          http:
          - route:
            - destination: {host: web}
    """,
)
def vs_gateway_not_found(vs: Resource, context: Context) -> Iterator[Violation]:
    inventory = context.inventory
    for ref in context.facts(vs).gateway_refs:
        if ref.form is RefForm.MESH or any(
            inventory.get(kind, ref.namespace, ref.name) is not None for kind in BINDABLE_GATEWAYS
        ):
            continue
        elsewhere = sorted(
            {g.namespace for kind in BINDABLE_GATEWAYS for g in inventory.named(kind, ref.name)}
        )
        message = f"gateway {q(ref.name)} not found in namespace {q(ref.namespace)}"
        missing = tuple(Lookup(kind, ref.namespace, ref.name) for kind in BINDABLE_GATEWAYS)
        if not elsewhere:
            fix = f"create Gateway {q(ref.qualified)} or correct the reference {q(ref.text)}"
            if ref.form is RefForm.SHORT:
                fix += " (a bare name means the VirtualService's own namespace; write <namespace>/<name>)"
            yield Violation(ref.path, message, fix, message_id="gateway-not-found", missing=missing)
            continue
        if len(elsewhere) == 1:
            message += f"; a Gateway of that name exists in {q(elsewhere[0])}"
        else:
            message += f"; Gateways of that name exist in {qs(elsewhere)}"
        fix = "use " + " or ".join(q(f"{ns}/{ref.name}") for ns in elsewhere)
        # Only a reference to the VirtualService's own namespace, written or implied, is one the
        # author evidently meant elsewhere; `other/name` may name a Gateway still to be created.
        autofix = (
            rewrite_ref(ref, f"{elsewhere[0]}/{ref.name}")
            if len(elsewhere) == 1 and ref.namespace == vs.namespace
            else None
        )
        yield Violation(
            ref.path,
            message,
            fix,
            message_id="gateway-in-other-namespace",
            missing=missing,
            autofix=autofix,
        )


# --- MW302 -------------------------------------------------------------------------------------------


@rule(
    code="MW302",
    name="vs-gateway-reference-form",
    kinds=VS_KINDS,
    default=Action.DENY,
    messages={
        "relative-form": "a `./name` reference, which Istio's validating webhook rejects",
        "dotted-form": "a legacy `name.namespace.svc.cluster.local` reference (a warning)",
    },
    fixes={"relative-form": Safety.SAFE, "dotted-form": Safety.SAFE},
    summary="""
        Checks the form of gateway references: `./name` is denied, and the legacy dotted form
        `name.namespace.svc.cluster.local` is a warning. Write `name` or `namespace/name`.
    """,
    why="""
        Istio's own validating webhook rejects `./name`, so the VirtualService can never be
        applied to a cluster. The dotted form still works but is deprecated and warned about,
        and is easily mistaken for a host name.
    """,
    fix="""
        Write the reference as `<namespace>/<name>` (or a bare `<name>` for the VirtualService's
        own namespace).
    """,
    bad="""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: shop, namespace: shop}
        spec:
          hosts: ["shop.example.com"]
          gateways: ["./shop-gateway"]
          http:
          - route:
            - destination: {host: web}
    """,
    good="""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: shop, namespace: shop}
        spec:
          hosts: ["shop.example.com"]
          gateways: ["shop/shop-gateway"]
          http:
          - route:
            - destination: {host: web}
    """,
)
def vs_gateway_reference_form(vs: Resource, context: Context) -> Iterator[Violation]:
    for ref in context.facts(vs).gateway_refs:
        if ref.form is RefForm.RELATIVE:
            yield Violation(
                ref.path,
                f"gateway reference {q(ref.text)} uses the './' form, which Istio's validating webhook "
                "rejects",
                f"write {q(ref.qualified)}",
                message_id="relative-form",
                autofix=rewrite_ref(ref, ref.qualified),
            )
        elif ref.form is RefForm.DOTTED:
            yield Violation(
                ref.path,
                f"gateway reference {q(ref.text)} uses the legacy dotted form; Istio reads it as "
                f"{q(ref.qualified)} and warns",
                f"write {q(ref.qualified)}",
                message_id="dotted-form",
                weak=True,
                autofix=rewrite_ref(ref, ref.qualified),
            )


# --- MW303 -------------------------------------------------------------------------------------------


def server_hosts(gateway: Resource) -> list[str]:
    """Server hosts as written (`ns/host` prefixes kept)."""
    return [
        str(host)
        for server in as_list(gateway.spec.get("servers"))
        for host in as_list(as_dict(server).get("hosts"))
        if isinstance(host, str) and host
    ]


@rule(
    code="MW303",
    name="vs-host-not-in-gateway",
    kinds=VS_KINDS,
    default=Action.DENY,
    inputs=(Input(GATEWAY, Detail.SPEC),),
    messages={
        "gateway-has-no-servers": "the Gateway has no servers",
        "gateway-has-no-hosts": "the Gateway's servers list no hosts",
        "host-for-other-namespace": "a server host matches, but its prefix (`./`, `ns/`) admits only "
        "VirtualServices of another namespace",
        "host-not-served": "no host of the VirtualService matches a server host of the Gateway",
    },
    summary="""
        For every existing Gateway a VirtualService is bound to, checks that at least one of its
        hosts matches a server host of that Gateway (exactly, or by wildcard such as
        `*.example.com`), honouring the server host's namespace prefix (`./`, `ns/`, `*/`).
        Gateway API Gateways are not judged: Istio rules never check Gateway API objects.
    """,
    why="""
        The gateway only builds routes for hosts its servers accept. When no host of the
        VirtualService matches, its routes are never attached to the gateway and every request
        through it gets 404.
    """,
    fix="""
        Add the VirtualService's host to the Gateway server's `hosts` (or a wildcard that covers
        it), or change the VirtualService's `hosts` to one the Gateway serves. For a server host
        `./name` or `ns/name`, the VirtualService must live in that namespace.
    """,
    bad="""
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: public-gateway, namespace: istio-system}
        spec:
          selector: {istio: ingressgateway}
          servers:
          - port: {number: 80, name: http, protocol: HTTP}
            hosts: ["*.example.com"]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: shop, namespace: shop}
        spec:
          hosts: ["shop.example.org"]
          gateways: ["istio-system/public-gateway"]
          http:
          - route:
            - destination: {host: web}
    """,
    good="""
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: public-gateway, namespace: istio-system}
        spec:
          selector: {istio: ingressgateway}
          servers:
          - port: {number: 80, name: http, protocol: HTTP}
            hosts: ["*.example.com"]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: shop, namespace: shop}
        spec:
          hosts: ["shop.example.com"]
          gateways: ["istio-system/public-gateway"]
          http:
          - route:
            - destination: {host: web}
    """,
)
def vs_host_not_in_gateway(vs: Resource, context: Context) -> Iterator[Violation]:
    facts = context.facts(vs)
    hosts = facts.hosts
    checked: set[tuple[str, str]] = set()
    for ref in facts.gateway_refs:
        if ref.form is RefForm.MESH or (ref.namespace, ref.name) in checked:
            continue
        checked.add((ref.namespace, ref.name))
        gateway = context.inventory.get(GATEWAY, ref.namespace, ref.name)
        if gateway is None:
            continue
        offered = server_hosts(gateway)
        admitted = [h for h in offered if gateway_host_admits(h, gateway.namespace, vs.namespace)]
        if any(_host_matches(vh, sh, vs.namespace) for vh in hosts for sh in admitted):
            continue
        yield _host_not_served(vs, ref, gateway, hosts, offered, admitted)


def _host_matches(vs_host: str, server_host: str, vs_namespace: str) -> bool:
    return any(gateway_host_matches(form, server_host) for form in {vs_host, fqdn(vs_host, vs_namespace)})


def _host_not_served(
    vs: Resource,
    ref: GatewayRef,
    gateway: Resource,
    hosts: list[str],
    offered: list[str],
    admitted: list[str],
) -> Violation:
    where = q(f"{gateway.namespace}/{gateway.name}")
    shown = qs(hosts) if hosts else "(none)"
    if not offered:
        servers = bool(as_list(gateway.spec.get("servers")))
        return Violation(
            ref.path,
            f"Gateway {where} has no {'server hosts' if servers else 'servers'}, so none of the hosts "
            f"{shown} is served through it: requests get 404",
            f"add a server with hosts {shown} to Gateway {where}, or remove {q(ref.text)}",
            message_id="gateway-has-no-hosts" if servers else "gateway-has-no-servers",
        )
    closed = [
        h for h in offered if h not in admitted and any(_host_matches(v, h, vs.namespace) for v in hosts)
    ]
    if closed:
        prefix, _, host = closed[0].partition("/")
        owner = gateway.namespace if prefix == "." else prefix
        return Violation(
            ref.path,
            f"Gateway {where} serves {q(closed[0])} only to VirtualServices in namespace {q(owner)}, "
            f"not {q(vs.namespace)}: requests get 404",
            f"move the VirtualService to namespace {q(owner)}, or change the server host {q(closed[0])} "
            f"to {q('*/' + host)} (or {q(vs.namespace + '/' + host)})",
            message_id="host-for-other-namespace",
        )
    example = offered[0].rpartition("/")[2]
    return Violation(
        ref.path,
        f"none of the hosts {shown} matches a server host of Gateway {where} ({qs(offered)}): "
        "requests get 404",
        f"add {q(hosts[0]) if hosts else 'a host'} to a server's hosts in Gateway {where}, "
        f"or set hosts to one it serves, e.g. {q(example)}",
        message_id="host-not-served",
    )


# --- MW304 -------------------------------------------------------------------------------------------


@rule(
    code="MW304",
    name="vs-gateways-without-mesh",
    kinds=VS_KINDS,
    default=Action.WARN,
    inputs=MESH_INTERNAL_INPUTS,
    messages={
        "mesh-not-listed": "`gateways` does not list `mesh`, and a host is mesh-internal",
    },
    fixes={"mesh-not-listed": Safety.UNSAFE},
    summary="""
        Checks a VirtualService that lists `gateways` without `mesh` while one of its hosts is
        mesh-internal (a short name, `name.namespace`, `*.svc.cluster.local`, or a known Service).
    """,
    why="""
        Listing gateways replaces the default `mesh`: the routes then apply only at those
        gateways, and calls from other pods in the mesh to the same host bypass them (no
        retries, timeouts, canary weights or fault injection inside the mesh).
    """,
    fix="""
        Add `mesh` to `gateways` if the routes should apply inside the mesh too; otherwise keep
        the edge routes in a separate VirtualService.
    """,
    bad="""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews, namespace: shop}
        spec:
          hosts: ["reviews"]
          gateways: ["shop/shop-gateway"]
          http:
          - route:
            - destination: {host: reviews}
    """,
    good="""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews, namespace: shop}
        spec:
          hosts: ["reviews"]
          gateways: ["shop/shop-gateway", "mesh"]
          http:
          - route:
            - destination: {host: reviews}
    """,
)
def vs_gateways_without_mesh(vs: Resource, context: Context) -> Iterator[Violation]:
    listed = [scalar_text(g) for g in as_list(vs.spec.get("gateways")) if g]
    if not listed or MESH in listed:
        return
    internal = [h for h in context.facts(vs).hosts if mesh_internal(h, vs, context.inventory)]
    if internal:
        add_mesh = Edit(("spec", "gateways", len(as_list(vs.spec["gateways"]))), None, MESH)
        yield Violation(
            "spec.gateways",
            f'gateways {qs(listed)} do not include "mesh", but host {qs(internal)} is mesh-internal: '
            "calls from pods in the mesh ignore these routes",
            f'add "mesh" to spec.gateways ({qs([*listed, MESH])}) if these routes should apply inside '
            "the mesh too",
            message_id="mesh-not-listed",
            autofix=Autofix(f'add "{MESH}" to spec.gateways', (add_mesh,), Safety.UNSAFE),
        )
