"""DestinationRule rules (MW5xx): subsets that select no pod, TLS that verifies no certificate."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from webhook.findings import Action, Lookup, Violation
from webhook.inventory.detail import Detail
from webhook.inventory.store import TOPOLOGY_PREFIXES
from webhook.kinds import DESTINATION_RULE, POD, SERVICE, VIRTUAL_SERVICE
from webhook.kube import fqdn
from webhook.model import Resource, as_dict, as_list, scalar_text, string_map
from webhook.rules.registry import Context, Input, rule

UNVERIFIED_MODES = frozenset({"SIMPLE", "MUTUAL"})
SYSTEM_CA_SINCE = (1, 20)  # since Istio 1.20 a setting without caCertificates uses the OS trust store


def _show(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "(none)"


def _contradictions(selector: Mapping[str, str], subset: Mapping[str, str]) -> list[str]:
    return sorted(key for key, value in subset.items() if key in selector and selector[key] != value)


def _existing_values(pods_labels: list[Mapping[str, str]], keys: list[str]) -> str:
    """`version=v1, version=v2`: what the Service's pods carry for the subset's keys, for the fix."""
    values = sorted({f"{key}={labels[key]}" for labels in pods_labels for key in keys if key in labels})
    return ", ".join(values[:5])


class _Reason(NamedTuple):
    message_id: str
    text: str
    fix: str


def _reason(
    name: str,
    labels: Mapping[str, str],
    selector: Mapping[str, str],
    service: Resource,
    service_pods: list[Mapping[str, str]],
) -> _Reason:
    """Why the subset selects nothing, and what to change."""
    empty = sorted(k for k, v in labels.items() if k.startswith(TOPOLOGY_PREFIXES) and not v)
    if empty:
        return _Reason(
            message_id="topology-label-empty",
            text=f"topology label {', '.join(empty)} is empty, which matches no endpoint",
            fix=f"give {empty[0]} the node value it should match (a region or zone name), "
            f'or remove it from subset "{name}"',
        )
    contradicting = _contradictions(selector, labels)
    if contradicting:
        key = contradicting[0]
        return _Reason(
            message_id="contradicts-selector",
            text=f"its {key}={labels[key]} contradicts the selector's {key}={selector[key]}",
            fix=f'remove {key} from subset "{name}" (the Service already selects {key}={selector[key]})',
        )
    pod_labels = {k: v for k, v in labels.items() if not k.startswith(TOPOLOGY_PREFIXES)}
    if not service_pods:
        workload = f"Service {service.namespace}/{service.name}"
        return _Reason(
            message_id="service-has-no-pods",
            text="no pod matches the Service's selector at all" if selector else "the namespace has no pod",
            fix=f"deploy the workload behind {workload} with pod labels {_show({**selector, **pod_labels})}",
        )
    fix = f'label the pod template of the workload for subset "{name}" with {_show(pod_labels)}'
    existing = _existing_values(service_pods, sorted(pod_labels))
    if existing:
        fix += f", or change the subset's labels to ones the Service's pods carry ({existing})"
    return _Reason(
        message_id="no-pod-with-labels", text=f"no pod of the Service has {_show(pod_labels)}", fix=fix
    )


@rule(
    code="MW501",
    name="dr-subset-selects-nothing",
    kinds={DESTINATION_RULE},
    default=Action.WARN,
    inputs=(Input(SERVICE, Detail.SPEC), Input(POD, Detail.METADATA), Input(VIRTUAL_SERVICE, Detail.SPEC)),
    messages={
        "topology-label-empty": "a topology label of the subset with an empty value, which matches no "
        "endpoint",
        "contradicts-selector": "a label of the subset contradicts the Service's selector",
        "service-has-no-pods": "no pod matches the Service's selector at all (no pod in the namespace, for "
        "a Service without one)",
        "no-pod-with-labels": "the Service has pods, but none with the subset's labels",
    },
    summary="""
        Checks that each subset's labels, together with the selector of the host's Service, match
        at least one pod or workload pod template in the Service's namespace. Hosts without a
        Service in the inventory are left to MW308.
    """,
    why="""
        A subset with no endpoints is an empty cluster in Envoy: a route to it answers 503
        (`UH`, no healthy upstream). The usual cause is a label typo (`version: V1`) or a
        VirtualService switched to a subset before its Deployment rolled out.
    """,
    fix="""
        Make the subset's labels match the pod template labels of the workload version it stands
        for, or deploy that version before any VirtualService routes to the subset.
    """,
    bad="""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: reviews
        spec:
          host: reviews
          subsets:
          - name: v2
            labels: {version: v2}
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: reviews
        spec:
          selector: {app: reviews}
          ports:
          - {name: http, port: 9080}
    """,
    good="""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: reviews
        spec:
          host: reviews
          subsets:
          - name: v2
            labels: {version: v2}
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: reviews
        spec:
          selector: {app: reviews}
          ports:
          - {name: http, port: 9080}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: reviews-v2
        spec:
          selector:
            matchLabels: {app: reviews, version: v2}
          template:
            metadata:
              labels: {app: reviews, version: v2}
            spec:
              containers:
              - name: reviews
                image: example/reviews:2.0
    """,
)
def dr_subset_selects_nothing(destination_rule: Resource, context: Context) -> Iterator[Violation]:
    host = destination_rule.spec.get("host")
    if not host:
        return
    host_fqdn = fqdn(scalar_text(host), destination_rule.namespace)
    services = context.inventory.services_for_host(host_fqdn)
    if not services:  # MW308's concern
        return
    service = services[0]
    selector = string_map(service.spec.get("selector"))
    selector_text = _show(selector) if selector else "none"
    where = f"{service.namespace}/{service.name}"
    service_pods: list[Mapping[str, str]] | None = None
    for index, subset in enumerate(as_list(destination_rule.spec.get("subsets"))):
        subset = as_dict(subset)
        labels = string_map(subset.get("labels"))
        if not _contradictions(selector, labels) and context.inventory.pods_matching(
            {**selector, **labels}, service.namespace
        ):
            continue
        if service_pods is None:
            service_pods = [
                pod.labels for pod in context.inventory.pods_matching(selector, service.namespace)
            ]
        name = scalar_text(subset.get("name") or f"#{index}")
        reason = _reason(name, labels, selector, service, service_pods)
        routed = context.inventory.virtual_services_routing_to(host_fqdn, name)
        if routed:
            users = ", ".join(f"{vs.namespace}/{vs.name}" for vs in routed[:3])
            effect = f"VirtualService {users} routes to it, so those requests get 503 now"
        else:
            effect = "no VirtualService routes to it yet (fine while a canary is being prepared)"
        yield Violation(
            f"spec.subsets[{index}].labels" if labels else f"spec.subsets[{index}]",
            f'subset "{name}" ({_show(labels)}) with the selector of Service {where} ({selector_text}) '
            f"matches no pod in namespace {service.namespace}: {reason.text}; {effect}",
            reason.fix,
            message_id=reason.message_id,
            weak=not routed,
            missing=(Lookup(POD, service.namespace),),
        )


def _tls_settings(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(path, tls block, where) of every tls setting: top level, per port, and the same inside subsets."""
    policies = [("spec.trafficPolicy", as_dict(spec.get("trafficPolicy")), "")]
    for index, subset in enumerate(as_list(spec.get("subsets"))):
        subset = as_dict(subset)
        label = f' in subset "{scalar_text(subset.get("name"))}"'
        policies.append((f"spec.subsets[{index}].trafficPolicy", as_dict(subset.get("trafficPolicy")), label))
    for path, policy, label in policies:
        if "tls" in policy:
            yield f"{path}.tls", as_dict(policy.get("tls")), label
        for index, setting in enumerate(as_list(policy.get("portLevelSettings"))):
            setting = as_dict(setting)
            port = as_dict(setting.get("port")).get("number")
            if "tls" in setting:
                yield (
                    f"{path}.portLevelSettings[{index}].tls",
                    as_dict(setting.get("tls")),
                    f" for port {port}{label}",
                )


@rule(
    code="MW502",
    name="dr-tls-without-ca",
    kinds={DESTINATION_RULE},
    default=Action.WARN,
    messages={
        "insecure-skip-verify": "a SIMPLE or MUTUAL tls setting with `insecureSkipVerify: true`",
        "os-trust-store-only": "a SIMPLE or MUTUAL tls setting without a CA: verified against the OS trust "
        "store only (Istio 1.20 and later)",
        "not-verified": "a SIMPLE or MUTUAL tls setting without a CA: not verified at all (Istio before "
        "1.20)",
    },
    summary="""
        Checks that every `SIMPLE` or `MUTUAL` tls setting of a DestinationRule (top level, per
        port, and inside subsets) names the CA to verify the upstream with, by `caCertificates`
        or `credentialName`, and does not set `insecureSkipVerify: true`. The message gives the
        reason for the mesh's Istio version (policy `mesh.istioVersion`).
    """,
    why="""
        Since Istio 1.20 a setting without a CA verifies the upstream against the OS trust store
        of the proxy: any publicly trusted certificate for the host is accepted, and an upstream
        whose certificate comes from a private CA fails every connection. Before 1.20, and with
        `insecureSkipVerify: true` in any version, nothing is verified: the sidecar encrypts the
        connection but accepts any certificate, so anyone who can intercept the traffic can
        impersonate the upstream. `ISTIO_MUTUAL` is not affected; Istio supplies its own CA.
    """,
    fix="""
        Pin the upstream's CA: add `caCertificates` (a CA bundle file mounted in the sidecar) or
        `credentialName` (a Secret holding `ca.crt`) next to `mode`, and remove
        `insecureSkipVerify: true`.
    """,
    bad="""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: payments-api
        spec:
          host: api.payments.example.com
          trafficPolicy:
            tls:
              mode: SIMPLE
    """,
    good="""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: payments-api
        spec:
          host: api.payments.example.com
          trafficPolicy:
            tls:
              mode: SIMPLE
              caCertificates: /etc/certs/payments-ca.pem
    """,
)
def dr_tls_without_ca(destination_rule: Resource, context: Context) -> Iterator[Violation]:
    host = scalar_text(destination_rule.spec.get("host") or "")
    version = context.mesh.istio_version
    for path, tls, where in _tls_settings(destination_rule.spec):
        mode = scalar_text(tls.get("mode") or "").upper()
        if mode not in UNVERIFIED_MODES:
            continue
        setting = f"tls mode {mode} to {host}{where}"
        pinned = bool(tls.get("caCertificates") or tls.get("credentialName"))
        pin = (
            f"add caCertificates: <path of the CA bundle for {host} mounted in the sidecar>, or "
            f"credentialName: <Secret with the CA as ca.crt>, under {path}"
        )
        if tls.get("insecureSkipVerify") is True:
            ignored = " (its CA is ignored)" if pinned else ""
            yield Violation(
                f"{path}.insecureSkipVerify",
                f"{setting} sets insecureSkipVerify: true, so nothing about the upstream's certificate "
                f"is verified{ignored}: anyone who can intercept the traffic can impersonate {host}",
                f"remove insecureSkipVerify from {path}" + ("" if pinned else f", and {pin}"),
                message_id="insecure-skip-verify",
            )
        elif pinned:
            continue
        elif version >= SYSTEM_CA_SINCE:
            yield Violation(
                path,
                f"{setting} has neither caCertificates nor credentialName, so the upstream is verified "
                f"against the OS trust store only: any publicly trusted certificate for {host} is "
                "accepted, and an upstream with a private CA fails",
                f"pin the CA: {pin}",
                message_id="os-trust-store-only",
            )
        else:
            yield Violation(
                path,
                f"{setting} has neither caCertificates nor credentialName, so with Istio "
                f"{version[0]}.{version[1]} (mesh.istioVersion) the upstream's certificate is not verified",
                pin,
                message_id="not-verified",
            )
