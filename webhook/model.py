"""Kubernetes objects as the engine sees them: the raw body plus where it came from."""

from __future__ import annotations

import marshal
import reprlib
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, NamedTuple

Body = dict[str, Any]


class GroupKind(NamedTuple):
    """A kind with its API group ("" for the core group): Istio's Gateway and the Gateway API's
    Gateway are different kinds. Written `Kind.group` (`Gateway.networking.istio.io`), or `Kind`
    for the core group. A tuple: compared and hashed at C speed, as every lookup does."""

    group: str
    kind: str

    def __str__(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind


# Kinds that moved to another group: an object read under the old group is the same object.
_MOVED_KINDS = {
    ("extensions", "Deployment"): "apps",
    ("extensions", "DaemonSet"): "apps",
    ("extensions", "ReplicaSet"): "apps",
    ("extensions", "Ingress"): "networking.k8s.io",
}


@lru_cache(maxsize=1024)  # one GroupKind for the many objects of a kind
def group_kind_of(api_version: str, kind: str) -> GroupKind:
    """The kind's identity: the group of `apiVersion` (`networking.istio.io/v1`), whatever the version."""
    group = api_version.rpartition("/")[0]
    return GroupKind(_MOVED_KINDS.get((group, kind), group), kind)


ObjectKey = tuple[GroupKind, str, str]
"""An object's identity: group and kind, namespace, name (the version does not count)."""


class ObjectRef(NamedTuple):
    """An object's apiVersion, kind, namespace and name; `group_kind` follows from the first two
    (`ObjectRef.of` works it out)."""

    api_version: str
    kind: str
    namespace: str
    name: str
    group_kind: GroupKind

    @classmethod
    def of(cls, api_version: str, kind: str, namespace: str, name: str) -> ObjectRef:
        return cls(api_version, kind, namespace, name, group_kind_of(api_version, kind))

    @property
    def key(self) -> ObjectKey:
        return (self.group_kind, self.namespace, self.name)

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


class Origin(NamedTuple):
    """Where an object was read from; `lines` maps field paths (`spec.ports[0]`) to lines."""

    file: str
    line: int
    lines: Mapping[str, int]

    def line_of(self, path: str) -> int:
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return self.line


CLUSTER_SCOPED_KINDS = frozenset({"Namespace", "Node", "IngressClass", "ClusterRole", "ClusterRoleBinding"})


class Resource:
    """One Kubernetes object. `namespace` is the effective one (defaulted like kubectl does)."""

    __slots__ = ("body", "namespace", "origin", "packed", "ref")

    def __init__(self, body: Body, default_namespace: str = "default", origin: Origin | None = None):
        self.body = body
        self.packed: bytes | None = None
        """The whole body (marshal), when `body` keeps only what the inventory reads of it
        (webhook.inventory.kept): `whole()` is the object to check."""
        meta = as_dict(body.get("metadata"))
        kind = scalar_text(body.get("kind"))
        self.namespace = (
            "" if kind in CLUSTER_SCOPED_KINDS else scalar_text(meta.get("namespace") or default_namespace)
        )
        self.origin = origin
        name = meta.get("name") or meta.get("generateName")
        self.ref = ObjectRef.of(scalar_text(body.get("apiVersion")), kind, self.namespace, scalar_text(name))

    def whole(self) -> Resource:
        """This object with its whole body."""
        if self.packed is None:
            return self
        whole = Resource.__new__(Resource)
        whole.body, whole.packed = marshal.loads(self.packed), None
        whole.namespace, whole.origin, whole.ref = self.namespace, self.origin, self.ref
        return whole

    @property
    def kind(self) -> str:
        return self.ref.kind

    @property
    def group_kind(self) -> GroupKind:
        return self.ref.group_kind

    @property
    def name(self) -> str:
        return self.ref.name

    @property
    def metadata(self) -> Body:
        return as_dict(self.body.get("metadata"))

    @property
    def labels(self) -> Mapping[str, str]:
        return string_map(self.metadata.get("labels"))

    @property
    def annotations(self) -> Mapping[str, str]:
        return string_map(self.metadata.get("annotations"))

    @property
    def spec(self) -> Body:
        return as_dict(self.body.get("spec"))

    def __repr__(self) -> str:
        return f"<Resource {self.ref}>"


def as_dict(value: Any) -> Body:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


_TEXT = frozenset({str})


def string_map(value: Any) -> Mapping[str, str]:
    """Labels and annotations, read in place: the usual mapping of strings is not copied (its types
    are checked at C speed). YAML may give other values (`version: 1`): those are compared as text,
    in a copy."""
    if not isinstance(value, dict):
        return {}
    if {*map(type, value), *map(type, value.values())} <= _TEXT:
        return value
    return {str(k): scalar_text(v) for k, v in value.items()}


def scalar_text(value: Any) -> str:
    """A value as text; a list or mapping where text belongs is shown abridged (it may nest deeper
    than str() can recurse)."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return reprlib.repr(value)
    return str(value)
