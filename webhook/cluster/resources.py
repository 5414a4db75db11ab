"""The Kubernetes API resources Meshwarden reads: each kind's group, versions, plural and scope.

Which of them the live inventory watches, and at what detail, follows from the rules' declared
inputs; the audit reads every kind a rule checks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import quote

from webhook.inventory.detail import Detail
from webhook.model import GroupKind
from webhook.rules import CATALOGUE

ISTIO_NETWORKING_VERSIONS = ("v1", "v1beta1", "v1alpha3")
ISTIO_SECURITY_VERSIONS = ("v1", "v1beta1")
GATEWAY_API_VERSIONS = ("v1", "v1beta1")


@dataclass(frozen=True, slots=True)
class KindSpec:
    """A kind as Meshwarden wants it: `versions` newest first; discovery picks the first one served."""

    kind: str
    group: str
    versions: tuple[str, ...]
    plural: str
    namespaced: bool = True
    detail: Detail = Detail.SPEC

    @property
    def group_kind(self) -> GroupKind:
        return GroupKind(self.group, self.kind)

    def at(self, version: str) -> ApiResource:
        return ApiResource(self.kind, self.group, version, self.plural, self.namespaced, self.detail)


@dataclass(frozen=True, slots=True)
class ApiResource:
    """A kind at one served version: where its objects live in the API, and how much of each to read."""

    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool = True
    detail: Detail = Detail.SPEC

    @property
    def group_kind(self) -> GroupKind:
        return GroupKind(self.group, self.kind)

    @property
    def metadata_only(self) -> bool:
        """Read as PartialObjectMetadata: the API sends no spec at all."""
        return self.detail is Detail.METADATA

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def name(self) -> str:
        """As RBAC rules and `kubectl get` name it: `deployments.apps`, `pods`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def collection_path(self, namespace: str | None = None) -> str:
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            return f"{root}/namespaces/{quote(namespace, safe='')}/{self.plural}"
        return f"{root}/{self.plural}"

    def object_path(self, namespace: str, name: str) -> str:
        return f"{self.collection_path(namespace)}/{quote(name, safe='')}"


def _core(kind: str, plural: str, *, namespaced: bool = True) -> KindSpec:
    return KindSpec(kind, "", ("v1",), plural, namespaced)


def _istio(kind: str, plural: str) -> KindSpec:
    return KindSpec(kind, "networking.istio.io", ISTIO_NETWORKING_VERSIONS, plural)


# Every kind Meshwarden may read, whole.
API_RESOURCES: dict[GroupKind, KindSpec] = {
    spec.group_kind: spec
    for spec in (
        _core("Namespace", "namespaces", namespaced=False),
        _core("Service", "services"),
        _core("Pod", "pods"),
        _core("ReplicationController", "replicationcontrollers"),
        KindSpec("Deployment", "apps", ("v1",), "deployments"),
        KindSpec("StatefulSet", "apps", ("v1",), "statefulsets"),
        KindSpec("DaemonSet", "apps", ("v1",), "daemonsets"),
        KindSpec("ReplicaSet", "apps", ("v1",), "replicasets"),
        KindSpec("Job", "batch", ("v1",), "jobs"),
        KindSpec("CronJob", "batch", ("v1",), "cronjobs"),
        KindSpec("Ingress", "networking.k8s.io", ("v1",), "ingresses"),
        KindSpec("IngressClass", "networking.k8s.io", ("v1",), "ingressclasses", namespaced=False),
        _istio("Gateway", "gateways"),
        _istio("VirtualService", "virtualservices"),
        _istio("DestinationRule", "destinationrules"),
        _istio("ServiceEntry", "serviceentries"),
        KindSpec("PeerAuthentication", "security.istio.io", ISTIO_SECURITY_VERSIONS, "peerauthentications"),
        KindSpec("Gateway", "gateway.networking.k8s.io", GATEWAY_API_VERSIONS, "gateways"),
    )
}

# What the live inventory watches: every kind a rule reads, at the detail the rules declare (Pods
# as their metadata and container ports: whole specs would dominate memory).
INVENTORY_KINDS: tuple[KindSpec, ...] = tuple(
    replace(API_RESOURCES[kind], detail=detail) for kind, detail in sorted(CATALOGUE.inputs.items())
)

# What `meshwarden audit` reads, whole: every kind a rule checks.
AUDIT_KINDS: dict[GroupKind, KindSpec] = {kind: API_RESOURCES[kind] for kind in sorted(CATALOGUE.kinds)}
