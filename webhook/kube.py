"""Kubernetes shapes the rules share: pod templates of workloads, label selectors, owners, DNS names."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from webhook.findings import FieldPath
from webhook.kinds import CRON_JOB, POD, WORKLOADS
from webhook.model import Body, GroupKind, Resource, as_dict, as_list, scalar_text, string_map

TEMPLATE_PATHS: Mapping[GroupKind, tuple[str, ...]] = {
    kind: ("spec", "jobTemplate", "spec", "template") if kind == CRON_JOB else ("spec", "template")
    for kind in WORKLOADS
}
_TEMPLATE_FIELDS = {kind: ".".join(keys) for kind, keys in TEMPLATE_PATHS.items()}


class PodTemplate(NamedTuple):
    """A Pod, or the pod template of a workload, with its labels and annotations read once.
    (A NamedTuple: as immutable as a frozen dataclass, and made in half the time, once per Pod
    review and per workload read.)"""

    owner: Resource
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    spec: Body

    @property
    def path(self) -> str:
        """The field path that leads to it: "" for a Pod, `spec.template` for a Deployment."""
        return _TEMPLATE_FIELDS.get(self.owner.group_kind, "")

    @property
    def metadata(self) -> Body:
        """Its metadata as written (labels and annotations may hold values other than strings)."""
        node = self.owner.body
        for key in TEMPLATE_PATHS.get(self.owner.group_kind, ()):
            node = as_dict(node.get(key))
        return as_dict(node.get("metadata"))

    @property
    def namespace(self) -> str:
        return self.owner.namespace

    @property
    def is_template(self) -> bool:
        return self.owner.group_kind != POD

    def field(self, path: str) -> str:
        """Field path of `path` (`spec.containers[0]`) relative to the object's root."""
        return f"{self.path}.{path}" if self.path else path

    def field_keys(self, *keys: str | int) -> FieldPath:
        """The same as keys, exact when keys hold dots: `("spec", "template", "metadata", "labels")`."""
        return (*TEMPLATE_PATHS.get(self.owner.group_kind, ()), *keys)


def pod_template(resource: Resource) -> PodTemplate | None:
    if resource.group_kind == POD:
        metadata = resource.metadata
        return PodTemplate(
            resource,
            string_map(metadata.get("labels")),
            string_map(metadata.get("annotations")),
            resource.spec,
        )
    keys = TEMPLATE_PATHS.get(resource.group_kind)
    if keys is None:
        return None
    node: Body = resource.body
    for key in keys:
        node = as_dict(node.get(key))
    metadata = as_dict(node.get("metadata"))
    labels, annotations = string_map(metadata.get("labels")), string_map(metadata.get("annotations"))
    return PodTemplate(resource, labels, annotations, as_dict(node.get("spec")))


CLUSTER_SUFFIX = ".svc.cluster.local"


def fqdn(host: str, namespace: str) -> str:
    """A short name (no dot) is `<name>.<namespace>.svc.cluster.local`, as Istio expands it."""
    host = host.strip().lower()
    if host and "." not in host and host != "*":
        return f"{host}.{namespace}{CLUSTER_SUFFIX}"
    return host


def service_fqdn(name: str, namespace: str) -> str:
    return f"{name}.{namespace}{CLUSTER_SUFFIX}"


MAX_PORT_DIGITS = 5
"""65535: a longer run of digits is no port (and int() of thousands of digits is refused)."""


def container_port(containers: Iterable[Any], port: object) -> int | None:
    """A port reference (a number, or the name of a declared container port, as a Service's
    targetPort or a probe's port) as a number; None when no container declares that name."""
    if isinstance(port, int) and not isinstance(port, bool):
        return port
    text = scalar_text(port or "")
    if text.isascii() and text.isdigit() and len(text) <= MAX_PORT_DIGITS:
        return int(text)
    for container in containers:
        for declared in as_list(as_dict(container).get("ports")):
            declared = as_dict(declared)
            number = declared.get("containerPort")
            if declared.get("name") == text and isinstance(number, int) and not isinstance(number, bool):
                return number
    return None


def is_controller_managed(resource: Resource) -> bool:
    refs = resource.metadata.get("ownerReferences")
    return isinstance(refs, list) and any(isinstance(r, dict) and r.get("controller") is True for r in refs)


def selector_matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())
