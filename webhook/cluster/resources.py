"""The Kubernetes API resources Meshwarden reads: each kind's group, versions, plural and scope."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from webhook.model import GroupKind

ISTIO_NETWORKING_VERSIONS = ("v1", "v1beta1", "v1alpha3")
ISTIO_SECURITY_VERSIONS = ("v1", "v1beta1")


@dataclass(frozen=True, slots=True)
class KindSpec:
    """A kind as Meshwarden wants it: `versions` newest first; discovery picks the first one served."""

    kind: str
    group: str
    versions: tuple[str, ...]
    plural: str
    namespaced: bool = True
    metadata_only: bool = False

    @property
    def group_kind(self) -> GroupKind:
        return GroupKind(self.group, self.kind)

    def at(self, version: str) -> ApiResource:
        return ApiResource(self.kind, self.group, version, self.plural, self.namespaced, self.metadata_only)


@dataclass(frozen=True, slots=True)
class ApiResource:
    """A kind at one served version: where its objects live in the API."""

    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool = True
    metadata_only: bool = False

    @property
    def group_kind(self) -> GroupKind:
        return GroupKind(self.group, self.kind)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def collection_path(self, namespace: str | None = None) -> str:
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            return f"{root}/namespaces/{quote(namespace, safe='')}/{self.plural}"
        return f"{root}/{self.plural}"

    def object_path(self, namespace: str, name: str) -> str:
        return f"{self.collection_path(namespace)}/{quote(name, safe='')}"


def _core(kind: str, plural: str, *, namespaced: bool = True, metadata_only: bool = False) -> KindSpec:
    return KindSpec(kind, "", ("v1",), plural, namespaced, metadata_only)


def _istio(kind: str, plural: str) -> KindSpec:
    return KindSpec(kind, "networking.istio.io", ISTIO_NETWORKING_VERSIONS, plural)


# What the live inventory watches: every kind a cross rule looks up. Pods as metadata only: their
# labels and annotations are all that selector matching needs, and specs would dominate memory.
INVENTORY_KINDS: tuple[KindSpec, ...] = (
    _core("Namespace", "namespaces", namespaced=False),
    _core("Service", "services"),
    _core("Pod", "pods", metadata_only=True),
    _istio("Gateway", "gateways"),
    _istio("VirtualService", "virtualservices"),
    _istio("DestinationRule", "destinationrules"),
    _istio("ServiceEntry", "serviceentries"),
    KindSpec("PeerAuthentication", "security.istio.io", ISTIO_SECURITY_VERSIONS, "peerauthentications"),
)

# Every kind a rule may cover, for `meshwarden audit`: the inventory kinds plus the workloads and
# Ingresses, whose whole objects the audit reads.
AUDIT_KINDS: dict[GroupKind, KindSpec] = {
    spec.group_kind: spec
    for spec in (
        *(KindSpec(s.kind, s.group, s.versions, s.plural, s.namespaced) for s in INVENTORY_KINDS),
        _core("ReplicationController", "replicationcontrollers"),
        KindSpec("Deployment", "apps", ("v1",), "deployments"),
        KindSpec("StatefulSet", "apps", ("v1",), "statefulsets"),
        KindSpec("DaemonSet", "apps", ("v1",), "daemonsets"),
        KindSpec("ReplicaSet", "apps", ("v1",), "replicasets"),
        KindSpec("Job", "batch", ("v1",), "jobs"),
        KindSpec("CronJob", "batch", ("v1",), "cronjobs"),
        KindSpec("Ingress", "networking.k8s.io", ("v1",), "ingresses"),
    )
}
