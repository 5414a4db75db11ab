"""Mesh membership as the rules see it: sidecar injection, gateway pods, and a pod's mTLS mode."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from webhook.findings import Lookup
from webhook.inventory import InventoryView
from webhook.kinds import GATEWAY
from webhook.kube import PodTemplate, selector_matches
from webhook.model import Resource, as_dict, as_list, scalar_text, string_map

PROXY_CONTAINER = "istio-proxy"
STATUS_ANNOTATION = "sidecar.istio.io/status"
INJECT_KEY = "sidecar.istio.io/inject"
NAMESPACE_INJECTION_LABEL = "istio-injection"
REVISION_LABEL = "istio.io/rev"
TEMPLATES_ANNOTATION = "inject.istio.io/templates"
GATEWAY_ISTIO_LABELS = frozenset({"ingressgateway", "egressgateway"})
REWRITE_PROBES_ANNOTATION = "sidecar.istio.io/rewriteAppHTTPProbers"
GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
NEWEST_ISTIO = (1, 30)  # the newest Istio minor release this release of Meshwarden knows


class MeshFacts(NamedTuple):
    """What the rules know about the mesh beyond the objects: the policy file's `mesh`,
    `gateways` and `ingressNginx` settings."""

    mtls: str = "unknown"
    probe_rewrite: bool = True
    assume_injected: bool = True
    root_namespace: str = "istio-system"
    gateways_namespace_scoped: bool = False
    ingress_nginx_meshed: bool = False
    istio_version: tuple[int, int] = NEWEST_ISTIO  # the oldest Istio minor running in the mesh


def has_sidecar(template: PodTemplate) -> bool:
    """The injector already ran: an `istio-proxy` container (or native sidecar) or its status annotation."""
    if STATUS_ANNOTATION in template.annotations:
        return True
    containers = [*as_list(template.spec.get("containers")), *as_list(template.spec.get("initContainers"))]
    return any(as_dict(c).get("name") == PROXY_CONTAINER for c in containers)


def in_mesh(template: PodTemplate, inventory: InventoryView, mesh: MeshFacts) -> bool:
    """Whether the pod will run an Istio sidecar (rules.md, "Mesh membership").

    Mirrors the injector: its webhook selects namespaces and pods by labels only, then
    `injectRequired` honours the deprecated `sidecar.istio.io/inject` annotation when the label
    is absent (so the annotation can opt a pod out but never in).
    """
    if template.spec.get("hostNetwork") is True:
        return False
    if has_sidecar(template):
        return True
    opt_in = template.labels.get(INJECT_KEY, template.annotations.get(INJECT_KEY))
    if opt_in == "false":
        return False
    namespace_labels = _namespace_labels(template.namespace, inventory, mesh)
    if namespace_labels is None:
        return mesh.assume_injected or _pod_opts_in(template)
    injection = namespace_labels.get(NAMESPACE_INJECTION_LABEL)
    if injection is not None:
        return injection == "enabled"
    return REVISION_LABEL in namespace_labels or _pod_opts_in(template)


def _pod_opts_in(template: PodTemplate) -> bool:
    """The pod's own labels select it when its namespace has no injection label."""
    return template.labels.get(INJECT_KEY) == "true" or REVISION_LABEL in template.labels


def _namespace_labels(namespace: str, inventory: InventoryView, mesh: MeshFacts) -> Mapping[str, str] | None:
    """The namespace's labels; unknown (None) counts as unlabelled for the mesh's root namespace
    and the `kube-*` namespaces, which nobody labels for injection."""
    labels = inventory.namespace_labels(namespace)
    if labels is None and (namespace == mesh.root_namespace or namespace.startswith("kube-")):
        return {}
    return labels


def is_gateway_pod(template: PodTemplate, inventory: InventoryView, namespace_scoped: bool) -> bool:
    """A gateway pod: labelled as one, injected with the gateway template, or selected by a Gateway."""
    if template.labels.get("istio") in GATEWAY_ISTIO_LABELS:
        return True
    templates = template.annotations.get(TEMPLATES_ANNOTATION)
    if templates and "gateway" in (name.strip() for name in templates.split(",")):
        return True
    return bool(inventory.gateways_selecting(template, namespace_scoped=namespace_scoped))


def gateway_lookup(template: PodTemplate, namespace_scoped: bool) -> Lookup:
    """The inventory question behind "no Gateway selects this pod" (namespace "" means any namespace)."""
    namespace = template.namespace if namespace_scoped else ""
    return Lookup(GATEWAY, namespace)


class Mtls(NamedTuple):
    """A pod's mTLS mode (STRICT, PERMISSIVE, DISABLE or unknown) and what decided it."""

    mode: str
    source: str


def mtls_for(
    template: PodTemplate, inventory: InventoryView, mesh: MeshFacts, port: int | None = None
) -> Mtls:
    """The mTLS mode that governs the pod (on `port`, when a workload policy sets it per port).

    A workload policy (selector matching the pod) beats the namespace policy, which beats the
    mesh policy in the root namespace; UNSET inherits from the next level; `mesh.mtls` in the
    config is the last fallback. Among policies of one level the oldest wins, as in Istio.
    """
    local = inventory.peer_authentications(template.namespace)
    workload = [pa for pa in local if _selector(pa) and selector_matches(_selector(pa), template.labels)]
    namespace_wide = [pa for pa in local if not _selector(pa)]
    root = inventory.peer_authentications(mesh.root_namespace)
    mesh_wide = [pa for pa in root if not _selector(pa)]
    for level in (workload, namespace_wide, mesh_wide):
        if not level:
            continue
        policy = min(level, key=_age)
        mode = _mode(policy, port if level is workload else None)
        if mode is not None:
            return Mtls(mode, f"PeerAuthentication {policy.namespace}/{policy.name}")
    configured = mesh.mtls
    return Mtls(configured, f"no PeerAuthentication applies; mesh.mtls is {configured} in the config")


def parse_bool(value: str) -> bool | None:
    """An annotation boolean as Istio reads it (Go's strconv.ParseBool); None when unparseable."""
    if value in GO_TRUE:
        return True
    if value in GO_FALSE:
        return False
    return None


def probe_rewrite_enabled(template: PodTemplate, mesh: MeshFacts) -> bool:
    """The pod annotation decides when it parses; otherwise the mesh-wide setting does."""
    from_annotation = parse_bool(template.annotations.get(REWRITE_PROBES_ANNOTATION, ""))
    return mesh.probe_rewrite if from_annotation is None else from_annotation


def _selector(policy: Resource) -> Mapping[str, str]:
    return string_map(as_dict(policy.spec.get("selector")).get("matchLabels"))


def _age(policy: Resource) -> tuple[str, str]:
    return (scalar_text(policy.metadata.get("creationTimestamp") or ""), policy.name)


def _mode(policy: Resource, port: int | None) -> str | None:
    """The policy's mode for `port`, or None when it is UNSET (inherit)."""
    candidates = []
    if port is not None:
        port_level = as_dict(policy.spec.get("portLevelMtls"))
        setting = next((v for k, v in port_level.items() if str(k) == str(port)), None)
        candidates.append(as_dict(setting).get("mode"))
    candidates.append(as_dict(policy.spec.get("mtls")).get("mode"))
    for mode in candidates:
        text = scalar_text(mode or "").upper()
        if text and text != "UNSET":
            return text
    return None
