"""VirtualService rules about what routes point at and who else claims the host (MW305, MW308, MW310)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from webhook.findings import Action, Autofix, Edit, Lookup, Safety, Violation
from webhook.inventory import InventoryView
from webhook.inventory.detail import Detail
from webhook.istio.hosts import EXPORT_ANNOTATION, covering_hosts, parse_export_to, visible_from
from webhook.istio.virtualservice import Destination, applies_to_mesh, as_int
from webhook.kinds import DESTINATION_RULE, NAMESPACE, SERVICE, SERVICE_ENTRY, VIRTUAL_SERVICE
from webhook.kube import CLUSTER_SUFFIX, fqdn, service_fqdn
from webhook.model import Resource, as_dict, as_list, scalar_text
from webhook.rules.edits import field_path
from webhook.rules.registry import Context, Input, rule
from webhook.rules.virtualservices import VS_KINDS, mesh_internal, q, qs


def _spec_export_to(resource: Resource) -> list[str] | None:
    return parse_export_to(resource.spec.get("exportTo"))


def _service_export_to(service: Resource) -> list[str] | None:
    return parse_export_to(service.annotations.get(EXPORT_ANNOTATION))


# --- MW305 -------------------------------------------------------------------------------------------


def _subsets(rule_: Resource) -> list[str]:
    return [
        scalar_text(as_dict(s).get("name"))
        for s in as_list(rule_.spec.get("subsets"))
        if as_dict(s).get("name")
    ]


class _HostRules(NamedTuple):
    """The DestinationRules for a host (its FQDN): all, those visible from the VirtualService's
    namespace, and the subsets these define."""

    fqdn: str
    found: list[Resource]
    visible: list[Resource]
    subsets: frozenset[str]


def _host_rules(host: str, vs: Resource, inventory: InventoryView) -> _HostRules:
    host_fqdn = fqdn(host, vs.namespace)
    found = [dr for form in covering_hosts(host_fqdn) for dr in inventory.destination_rules_for_host(form)]
    visible = [dr for dr in found if visible_from(_spec_export_to(dr), dr.namespace, vs.namespace)]
    return _HostRules(host_fqdn, found, visible, frozenset(s for dr in visible for s in _subsets(dr)))


@rule(
    code="MW305",
    name="vs-subset-undefined",
    kinds=VS_KINDS,
    default=Action.DENY,
    inputs=(Input(DESTINATION_RULE, Detail.SPEC),),
    messages={
        "subset-not-exported": "a DestinationRule defines the subset but is not exported to the "
        "VirtualService's namespace",
        "subset-not-in-rule": "the host's DestinationRule does not define the subset",
        "no-destination-rule": "no DestinationRule for the host is visible from the VirtualService's "
        "namespace",
    },
    summary="""
        Checks that every `subset` a route or mirror destination names is defined by a
        DestinationRule for that host (resolved to its FQDN) that is visible from the
        VirtualService's namespace.
    """,
    why="""
        Envoy has no cluster for an undefined subset, so every request routed to it gets 503
        (`NR`/`UH`). It is the usual result of applying the VirtualService before the
        DestinationRule, or of removing a subset that a route still uses.
    """,
    fix="""
        Add the subset to the host's DestinationRule before routing to it (make before break),
        or route to a subset that exists.
    """,
    bad="""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: reviews, namespace: shop}
        spec:
          host: reviews
          subsets:
          - {name: v1, labels: {version: v1}}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews, namespace: shop}
        spec:
          hosts: ["reviews"]
          http:
          - route:
            - destination: {host: reviews, subset: v2}
    """,
    good="""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: reviews, namespace: shop}
        spec:
          host: reviews
          subsets:
          - {name: v1, labels: {version: v1}}
          - {name: v2, labels: {version: v2}}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews, namespace: shop}
        spec:
          hosts: ["reviews"]
          http:
          - route:
            - destination: {host: reviews, subset: v2}
    """,
)
def vs_subset_undefined(vs: Resource, context: Context) -> Iterator[Violation]:
    rules: dict[str, _HostRules] = {}  # by host: routes name a few hosts many times
    for destination in context.facts(vs).destinations:
        subset, host = destination.subset, destination.host
        if not subset or not host:
            continue
        if host not in rules:
            rules[host] = _host_rules(host, vs, context.inventory)
        host_fqdn, found, visible, visible_subsets = rules[host]
        if subset in visible_subsets:
            continue
        shown = q(host) if host == host_fqdn else f"{q(host)} ({host_fqdn})"
        message = f"subset {q(subset)} of host {shown} is not defined"
        hidden = [dr for dr in found if dr not in visible and subset in _subsets(dr)]
        if hidden:
            where = f"{hidden[0].namespace}/{hidden[0].name}"
            message += f": DestinationRule {q(where)} defines it but is not exported to {q(vs.namespace)}"
            fix = f"add {q(vs.namespace)} to spec.exportTo of DestinationRule {q(where)}"
            message_id = "subset-not-exported"
        elif visible:
            where = f"{visible[0].namespace}/{visible[0].name}"
            defined = sorted(visible_subsets)
            message += f": DestinationRule {q(where)} defines " + (qs(defined) if defined else "no subsets")
            fix = f"add subset {q(subset)} to DestinationRule {q(where)}"
            fix += f", or route to one of {qs(defined)}" if defined else ""
            message_id = "subset-not-in-rule"
        else:
            message += f": no DestinationRule for {host_fqdn} is visible from namespace {q(vs.namespace)}"
            fix = f"create a DestinationRule with host {q(host_fqdn)} and a subset named {q(subset)}"
            message_id = "no-destination-rule"
        # A visible DestinationRule without the subset is present evidence; otherwise the finding
        # rests on no DestinationRule defining it anywhere.
        missing = () if visible else (Lookup(DESTINATION_RULE, "", None),)
        yield Violation(
            f"{destination.path}.subset",
            message + ": requests get 503",
            fix,
            message_id=message_id,
            missing=missing,
        )


# --- MW308 -------------------------------------------------------------------------------------------


def _service_ref(host_fqdn: str) -> tuple[str, str] | None:
    """(namespace, name) of a `name.namespace.svc.cluster.local` host."""
    if not host_fqdn.endswith(CLUSTER_SUFFIX):
        return None
    labels = host_fqdn[: -len(CLUSTER_SUFFIX)].split(".")
    return (labels[1], labels[0]) if len(labels) == 2 else None


@rule(
    code="MW308",
    name="vs-destination-unknown",
    kinds=VS_KINDS,
    default=Action.WARN,
    inputs=(
        Input(NAMESPACE, Detail.METADATA),
        Input(SERVICE, Detail.SPEC),
        Input(SERVICE_ENTRY, Detail.SPEC),
    ),
    messages={
        "no-host": "a route or mirror destination without a host",
        "service-not-exported": "the host's Service is not exported to the VirtualService's namespace",
        "host-not-fqdn": "a `name.namespace` or `name.namespace.svc` host of an existing Service, which "
        "Istio does not expand",
        "host-unknown": "a mesh-internal host that names no Service or ServiceEntry visible from the "
        "VirtualService's namespace",
        "port-not-in-service": "a destination port the Service does not have",
        "port-unspecified": "a destination that names no port of a Service with several",
    },
    fixes={"host-not-fqdn": Safety.SAFE, "port-not-in-service": Safety.SAFE},
    summary="""
        Checks that every route and mirror destination with a mesh-internal host resolves to a
        Service or ServiceEntry visible from the VirtualService's namespace, that the
        destination port is one the Service has, and that a destination of a Service with
        several ports selects one. A destination without a host is a finding too.
    """,
    why="""
        A destination nobody serves gets 503 (`NR`): typically a typo, a short name used from
        another namespace (short names resolve in the VirtualService's namespace), a
        `name.namespace` host (Istio expands only names without a dot), or a Service hidden by
        its `networking.istio.io/exportTo` annotation. Without a port, a multi-port
        Service gives Envoy no way to pick one.
    """,
    fix="""
        Use the Service's FQDN (`name.namespace.svc.cluster.local`) when it is in another
        namespace, create the Service, export it, or set `port.number` to one of its ports.
    """,
    bad="""
        apiVersion: v1
        kind: Service
        metadata: {name: ratings, namespace: bookinfo}
        spec:
          selector: {app: ratings}
          ports:
          - {name: http, port: 9080}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: ratings, namespace: shop}
        spec:
          hosts: ["ratings.bookinfo.svc.cluster.local"]
          http:
          - route:
            - destination: {host: ratings.bookinfo}
    """,
    good="""
        apiVersion: v1
        kind: Service
        metadata: {name: ratings, namespace: bookinfo}
        spec:
          selector: {app: ratings}
          ports:
          - {name: http, port: 9080}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: ratings, namespace: shop}
        spec:
          hosts: ["ratings.bookinfo.svc.cluster.local"]
          http:
          - route:
            - destination: {host: ratings.bookinfo.svc.cluster.local}
    """,
)
def vs_destination_unknown(vs: Resource, context: Context) -> Iterator[Violation]:
    inventory = context.inventory
    # By host: routes name a few hosts many times. None: the host is not mesh-internal.
    services: dict[str, _HostServices | None] = {}
    for destination in context.facts(vs).destinations:
        host = destination.host
        if not host:
            kind = "mirror" if destination.mirror else "route destination"
            yield Violation(
                destination.path,
                f"{kind} at {destination.path} has no host",
                f'set host to the Service it should reach, e.g. "<service>.{vs.namespace}{CLUSTER_SUFFIX}"',
                message_id="no-host",
            )
            continue
        if host not in services:
            services[host] = _host_services(host, vs, inventory)
        found = services[host]
        if found is None:
            continue
        if found.visible is not None:
            yield from _check_port(destination, found.visible, found.ports)
        else:
            yield from _check_unserved(vs, destination, found, inventory)


class _HostServices(NamedTuple):
    """The Services of a host (its FQDN), the first visible from the VirtualService's namespace, and
    its ports."""

    fqdn: str
    found: list[Resource]
    visible: Resource | None
    ports: list[int]


def _host_services(host: str, vs: Resource, inventory: InventoryView) -> _HostServices | None:
    """None for a host that is not mesh-internal: the rule checks only those."""
    if not mesh_internal(host, vs, inventory):
        return None
    host_fqdn = fqdn(host, vs.namespace)
    found = inventory.services_for_host(host_fqdn)
    visible = next((s for s in found if visible_from(_service_export_to(s), s.namespace, vs.namespace)), None)
    return _HostServices(host_fqdn, found, visible, _ports(visible) if visible is not None else [])


def _ports(service: Resource) -> list[int]:
    numbers = (as_int(as_dict(port).get("port")) for port in as_list(service.spec.get("ports")))
    return [number for number in numbers if number is not None]


def _check_unserved(
    vs: Resource, destination: Destination, services: _HostServices, inventory: InventoryView
) -> Iterator[Violation]:
    """A destination whose host no Service visible from the VirtualService's namespace serves."""
    host, host_fqdn = destination.host, services.fqdn
    if any(
        visible_from(_spec_export_to(entry), entry.namespace, vs.namespace)
        for form in covering_hosts(host_fqdn)
        for entry in inventory.service_entries_for_host(form)
    ):
        return
    shown = q(host) if host == host_fqdn else f"{q(host)} ({host_fqdn})"
    if services.found:
        service = services.found[0]
        where = f"{service.namespace}/{service.name}"
        yield Violation(
            f"{destination.path}.host",
            f"host {shown}: Service {q(where)} is not exported to namespace {q(vs.namespace)} "
            f"({EXPORT_ANNOTATION}: {q(service.annotations.get(EXPORT_ANNOTATION, ''))})",
            f"add {q(vs.namespace)} to the {EXPORT_ANNOTATION} annotation of Service {q(where)}",
            message_id="service-not-exported",
        )
        return
    labels = host_fqdn.split(".")
    short_form = len(labels) == 2 or (len(labels) == 3 and labels[2] == "svc")
    expanded = service_fqdn(labels[0], labels[1]) if short_form else ""
    if expanded and inventory.services_for_host(expanded):
        path = f"{destination.path}.host"
        edit = Edit(field_path(path), destination.body.get("host"), expanded)
        yield Violation(
            path,
            f"host {q(host)} is not a Service FQDN: Istio expands only names without a dot, and no "
            "ServiceEntry declares this host",
            f"use {q(expanded)}",
            message_id="host-not-fqdn",
            autofix=Autofix(f"set {path} to {q(expanded)}", (edit,), Safety.SAFE),
        )
        return
    ref = _service_ref(host_fqdn)
    message = f"host {shown} matches no Service or ServiceEntry visible from namespace {q(vs.namespace)}"
    others = sorted(s.namespace for s in inventory.named(SERVICE, ref[1])) if ref else []
    if ref and others:
        fix = "use " + " or ".join(q(service_fqdn(ref[1], ns)) for ns in others)
    elif ref:
        fix = f"create Service {q(ref[1])} in namespace {q(ref[0])}, or correct the host"
    else:
        fix = f"create a ServiceEntry for {q(host_fqdn)}, or correct the host"
    missing = (Lookup(SERVICE, ref[0], ref[1]),) if ref else ()
    yield Violation(
        f"{destination.path}.host",
        message + ": requests get 503",
        fix,
        message_id="host-unknown",
        missing=missing,
    )


def _check_port(destination: Destination, service: Resource, ports: list[int]) -> tuple[Violation, ...]:
    """A tuple, not a generator: most destinations are fine, and an empty tuple costs less."""
    number = destination.port
    if number is not None and ports and number not in ports:
        path = f"{destination.path}.port.number"
        fronting = [
            as_int(as_dict(port).get("port"))
            for port in as_list(service.spec.get("ports"))
            if as_int(as_dict(port).get("targetPort")) == number
        ]
        autofix = None
        fix = f"set port.number to {_choices(ports)}"
        if len(fronting) == 1 and fronting[0] is not None:  # the pods' port: the author meant the Service's
            fix = f"set port.number to {fronting[0]}, the Service's port for target port {number}"
            edit = Edit(field_path(path), as_dict(destination.body.get("port")).get("number"), fronting[0])
            autofix = Autofix(f"set {path} to {fronting[0]}", (edit,), Safety.SAFE)
        violation = Violation(
            path,
            f"port {number} of host {q(destination.host)} is not a port of Service {_where(service)} "
            f"({', '.join(map(str, ports))})",
            fix,
            message_id="port-not-in-service",
            autofix=autofix,
        )
        return (violation,)
    if number is None and len(ports) > 1:
        violation = Violation(
            destination.path,
            f"Service {_where(service)} has several ports ({', '.join(map(str, ports))}) and the "
            f"destination {q(destination.host)} selects none",
            f"set port.number to {_choices(ports)}",
            message_id="port-unspecified",
        )
        return (violation,)
    return ()


def _where(service: Resource) -> str:
    return q(f"{service.namespace}/{service.name}")


def _choices(ports: list[int]) -> str:
    return str(ports[0]) if len(ports) == 1 else "one of " + ", ".join(map(str, ports))


# --- MW310 -------------------------------------------------------------------------------------------


def _export_scope(vs: Resource) -> set[str]:
    """Namespaces the VirtualService is visible in, by name; `*` for all."""
    export_to = _spec_export_to(vs)
    if export_to is None or "*" in export_to:
        return {"*"}
    return {vs.namespace if target == "." else target for target in export_to if target != "~"}


def _common_namespaces(a: set[str], b: set[str]) -> set[str]:
    if "*" in a:
        return b
    return a if "*" in b else a & b


@rule(
    code="MW310",
    name="vs-mesh-host-conflict",
    kinds=VS_KINDS,
    default=Action.DENY,
    inputs=(Input(VIRTUAL_SERVICE, Detail.SPEC),),
    messages={
        "host-conflict": "another VirtualService that applies to the mesh claims the same host, in a "
        "namespace that sees both",
    },
    summary="""
        Checks that no other VirtualService that applies to the mesh claims the same host FQDN
        while both are visible in a common namespace (`exportTo`).
    """,
    why="""
        For sidecars, Istio merges the routes of VirtualServices that share a host in no defined
        order: which route wins, and whether the catch-all of one hides the other's routes,
        changes from one istiod push to the next.
    """,
    fix="""
        Keep one VirtualService per host for the mesh (merge the routes), or separate them with
        `exportTo` so that no namespace sees both.
    """,
    bad="""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews, namespace: shop}
        spec:
          hosts: ["reviews"]
          http:
          - route:
            - destination: {host: reviews}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews-canary, namespace: shop}
        spec:
          hosts: ["reviews.shop.svc.cluster.local"]
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
          http:
          - route:
            - destination: {host: reviews}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews-edge, namespace: shop}
        spec:
          hosts: ["reviews.shop.svc.cluster.local"]
          gateways: ["shop/shop-gateway"]
          http:
          - route:
            - destination: {host: reviews}
    """,
)
def vs_mesh_host_conflict(vs: Resource, context: Context) -> Iterator[Violation]:
    if not context.facts(vs).applies_to_mesh:
        return
    scope = _export_scope(vs)
    conflicts: dict[tuple[str, str], tuple[int, str, set[str]]] = {}
    for index, host in enumerate(as_list(vs.spec.get("hosts"))):
        if not isinstance(host, str) or not host.strip():
            continue
        host_fqdn = fqdn(host, vs.namespace)
        for other in context.inventory.virtual_services_for_host(host_fqdn):
            key = (other.namespace, other.name)
            if key == (vs.namespace, vs.name) or key in conflicts or not applies_to_mesh(other.spec):
                continue
            common = _common_namespaces(scope, _export_scope(other))
            if common:
                conflicts[key] = (index, host_fqdn, common)
    for (namespace, name), (index, host_fqdn, common) in sorted(conflicts.items()):
        where = "every namespace" if common == {"*"} else "namespace " + qs(sorted(common))
        yield Violation(
            f"spec.hosts[{index}]",
            f"VirtualService {q(namespace + '/' + name)} also applies to the mesh and claims host "
            f"{q(host_fqdn)}; both are visible in {where}, and Istio merges them in no defined order",
            f"merge the routes of {q(namespace + '/' + name)} into one VirtualService for {q(host_fqdn)}, "
            "or set exportTo so that no namespace sees both",
            message_id="host-conflict",
        )
