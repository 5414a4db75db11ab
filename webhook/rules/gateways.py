"""Gateway rules (MW401, MW402): the workload a Gateway selects and the ports it exposes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from webhook.findings import Action, Lookup, Violation
from webhook.inventory.detail import Detail
from webhook.istio.gateway import (
    port_number,
    selector_scope,
    show_labels,
)
from webhook.kinds import GATEWAY, POD, SERVICE
from webhook.kube import PodTemplate, container_port
from webhook.model import Resource, as_dict, as_list, scalar_text
from webhook.rules.registry import Context, Input, rule

WELL_KNOWN_GATEWAY_LABELS = (("istio", "ingressgateway"), ("istio", "egressgateway"))
# The selectors of the gateways Istio's installers deploy (the east-west one for multicluster).
ISTIO_GATEWAY_SELECTORS = (
    {"istio": "ingressgateway"},
    {"istio": "egressgateway"},
    {"istio": "eastwestgateway"},
)


# --- MW401 ---------------------------------------------------------------------------------------


@rule(
    code="MW401",
    name="gateway-selector-no-workload",
    kinds={GATEWAY},
    default=Action.WARN,
    inputs=(Input(POD, Detail.METADATA),),
    messages={
        "no-matching-pods": "the selector matches no pod or workload template (in the Gateway's namespace, "
        "when gateways are namespace-scoped)",
    },
    summary="""
        Checks that a Gateway's `spec.selector` matches at least one pod or workload pod template
        (in any namespace, or only in the Gateway's own namespace when the policy says gateways
        are namespace-scoped).
    """,
    why="""
        A Gateway configures the Envoy proxies its selector picks. When the selector picks nothing
        (a typo such as `istio: ingresgateway`, or a custom gateway deployed with other labels),
        no proxy listens on its ports and every VirtualService bound to it is silently unused:
        requests time out or hit another gateway's 404.
    """,
    fix="""
        Set `spec.selector` to the labels of the gateway deployment's pods; for Istio's default
        ingress gateway that is `istio: ingressgateway`.
    """,
    bad="""
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: shop
        spec:
          selector:
            istio: ingresgateway
          servers:
          - port: {number: 80, name: http, protocol: HTTP}
            hosts: ["shop.example.com"]
    """,
    good="""
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: shop
        spec:
          selector:
            istio: ingressgateway
          servers:
          - port: {number: 80, name: http, protocol: HTTP}
            hosts: ["shop.example.com"]
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: istio-ingressgateway
        spec:
          selector:
            matchLabels: {istio: ingressgateway}
          template:
            metadata:
              labels: {istio: ingressgateway}
            spec:
              containers:
              - name: istio-proxy
                image: auto
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: istio-ingressgateway
        spec:
          selector: {istio: ingressgateway}
          ports:
          - {name: http, port: 80, targetPort: 8080}
    """,
)
def gateway_selector_no_workload(gateway: Resource, context: Context) -> Iterator[Violation]:
    facts = context.facts(gateway)
    if facts.gateway_pods:
        return
    scoped = context.mesh.gateways_namespace_scoped
    selector = facts.selector
    scope = selector_scope(gateway, scoped)
    where = f"in namespace {scope} (gateways are namespace-scoped)" if scope else "in any namespace"
    message = f"selector {show_labels(selector)} matches no pod or workload template {where}"
    absent = [
        f"{k}={v}" for k, v in sorted(selector.items()) if not context.inventory.pods_matching({k: v}, scope)
    ]
    if absent:
        message += f"; no pod has {', '.join(absent)}"
    elsewhere = sorted({pod.namespace for pod in context.inventory.pods_matching(selector)}) if scope else []
    if elsewhere:
        fix = (
            f"pods matching it run in {', '.join(elsewhere)}: create the Gateway in namespace "
            f"{elsewhere[0]}, or deploy a gateway with labels {show_labels(selector)} in {scope}"
        )
    elif selector in ISTIO_GATEWAY_SELECTORS:
        fix = (
            f"if Istio's gateway with {show_labels(selector)} runs in the cluster, its pods are just not "
            f"in the inputs: pass them with --context (a cluster dump such as `kubectl get "
            f"pods,deployments.apps -n {scope or 'istio-system'} -o yaml`) or run with --partial; "
            "otherwise deploy that gateway"
        )
    else:
        known = [
            f"{k}: {v}"
            for k, v in WELL_KNOWN_GATEWAY_LABELS
            if context.inventory.pods_matching({k: v}, scope)
        ]
        example = (
            f"{known[0]}, as on the existing gateway pods"
            if known
            else "istio: ingressgateway for the default one"
        )
        fix = f"set spec.selector to the labels of the gateway deployment's pods (e.g. {example})"
    yield Violation(
        "spec.selector", message, fix, message_id="no-matching-pods", missing=(Lookup(POD, scope or ""),)
    )


# --- MW402 ---------------------------------------------------------------------------------------


class _Exposure(NamedTuple):
    """What the Services selecting a gateway's pods expose, for MW402's messages."""

    ports: frozenset[int]
    services: tuple[Resource, ...]
    udp_only: frozenset[int]


def _exposure(pods: list[PodTemplate], context: Context) -> _Exposure:
    ports: set[int] = set()
    udp: set[int] = set()
    services: dict[tuple[str, str], Resource] = {}
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for pod in pods:
        key = (pod.namespace, tuple(sorted(pod.labels.items())))
        if key in seen:  # replicas of one template: the same Services select them
            continue
        seen.add(key)
        for service in context.inventory.services_selecting(pod):
            services[(service.namespace, service.name)] = service
            for port in as_list(service.spec.get("ports")):
                port = as_dict(port)
                numbers = {port.get("port"), port.get("targetPort")}
                if isinstance(port.get("targetPort"), str):
                    numbers.add(container_port(as_list(pod.spec.get("containers")), port["targetPort"]))
                found = {n for n in numbers if isinstance(n, int) and not isinstance(n, bool)}
                # A Service port without `protocol` is TCP (the Kubernetes default); UDP/SCTP miss Envoy.
                if scalar_text(port.get("protocol") or "TCP").upper() == "TCP":
                    ports |= found
                else:
                    udp |= found
    return _Exposure(frozenset(ports), tuple(services.values()), frozenset(udp - ports))


def _describe(exposure: _Exposure) -> str:
    listed = []
    for service in exposure.services:
        numbers = []
        for port in as_list(service.spec.get("ports")):
            port = as_dict(port)
            target = port.get("targetPort")
            numbers.append(
                f"{port.get('port')}" + (f"→{target}" if target not in (None, port.get("port")) else "")
            )
        listed.append(f"{service.namespace}/{service.name} ({', '.join(numbers) or 'no ports'})")
    return ", ".join(listed)


@rule(
    code="MW402",
    name="gateway-port-not-exposed",
    kinds={GATEWAY},
    default=Action.WARN,
    inputs=(Input(POD, Detail.PORTS), Input(SERVICE, Detail.SPEC)),
    messages={
        "no-service": "no Service selects the gateway's pods",
        "port-not-exposed": "the server port is neither a TCP `port` nor a `targetPort` of the Services "
        "selecting the gateway's pods",
        "port-udp-only": "the server port is a port of those Services only over UDP or SCTP",
    },
    summary="""
        Checks that every server port of a Gateway is a TCP `port` or `targetPort` of a Service
        that selects the gateway's pods (a Service port without `protocol` counts as TCP).
    """,
    why="""
        The Gateway makes Envoy listen on the server port inside the gateway pod, but clients
        reach the pod only through its Service (LoadBalancer, NodePort). A server on a port the
        Service does not expose is unreachable from outside: the listener exists, yet every
        connection is refused or times out at the load balancer.
    """,
    fix="""
        Add the port to the gateway's Service (for example `istio-ingressgateway` in
        `istio-system`), or change the server to a port that Service already exposes.
    """,
    bad="""
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: shop
        spec:
          selector:
            istio: ingressgateway
          servers:
          - port: {number: 8443, name: https, protocol: HTTPS}
            hosts: ["shop.example.com"]
            tls: {mode: SIMPLE, credentialName: shop-cert}
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: istio-ingressgateway-1
          labels: {istio: ingressgateway}
        spec:
          containers:
          - name: istio-proxy
            image: auto
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: istio-ingressgateway
        spec:
          selector: {istio: ingressgateway}
          ports:
          - {name: https, port: 443, targetPort: 443}
    """,
    good="""
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: shop
        spec:
          selector:
            istio: ingressgateway
          servers:
          - port: {number: 443, name: https, protocol: HTTPS}
            hosts: ["shop.example.com"]
            tls: {mode: SIMPLE, credentialName: shop-cert}
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: istio-ingressgateway-1
          labels: {istio: ingressgateway}
        spec:
          containers:
          - name: istio-proxy
            image: auto
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: istio-ingressgateway
        spec:
          selector: {istio: ingressgateway}
          ports:
          - {name: https, port: 443, targetPort: 443}
    """,
)
def gateway_port_not_exposed(gateway: Resource, context: Context) -> Iterator[Violation]:
    facts = context.facts(gateway)
    pods = facts.gateway_pods
    if not pods:  # MW401's finding
        return
    exposure = _exposure(pods, context)
    namespaces = sorted({pod.namespace for pod in pods})
    missing = tuple(Lookup(SERVICE, ns) for ns in namespaces)
    for index, server in enumerate(facts.servers):
        number = port_number(server)
        if number is None or number in exposure.ports:
            continue
        path = f"spec.servers[{index}].port.number"
        if not exposure.services:
            pods_text = ", ".join(sorted({f"{p.owner.kind} {p.namespace}/{p.owner.name}" for p in pods})[:3])
            message = f"server port {number}: no Service selects the gateway's pods ({pods_text})"
            fix = (
                f"create a Service in namespace {namespaces[0]} "
                f"with selector {show_labels(facts.selector)} "
                f"and a TCP port {number} (targetPort {number})"
            )
            message_id = "no-service"
        else:
            message = (
                f"server port {number} is neither a TCP port nor a targetPort of the Services selecting "
                f"the gateway's pods: {_describe(exposure)}"
            )
            message_id = "port-not-exposed"
            if number in exposure.udp_only:
                message += f" (port {number} is exposed only over UDP/SCTP)"
                message_id = "port-udp-only"
            target = exposure.services[0]
            choices = ", ".join(str(p) for p in sorted(exposure.ports)[:6])
            fix = f"add a TCP port {number} (targetPort {number}) to Service {target.namespace}/{target.name}"
            fix += f", or change the server port to one it exposes ({choices})" if choices else ""
        yield Violation(path, message, fix, message_id=message_id, missing=missing)
