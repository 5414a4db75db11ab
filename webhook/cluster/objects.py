"""API answers turned into Resources: the kind filled in, the inventory's copies slimmed."""

from __future__ import annotations

from functools import lru_cache

import orjson

from webhook.cluster.resources import ApiResource
from webhook.inventory.detail import Detail, slim
from webhook.loader import slim_metadata
from webhook.model import Body, Resource, as_dict


def full_resource(item: Body, resource: ApiResource) -> Resource:
    """An object as the API gave it. List items of built-in kinds come without kind and apiVersion."""
    item.setdefault("apiVersion", resource.api_version)
    item.setdefault("kind", resource.kind)
    return Resource(item)


def inventory_resource(item: Body, resource: ApiResource) -> Resource:
    """The copy the inventory keeps: the detail the rules read of the kind, and no more.

    managedFields and kubectl's last-applied annotation repeat the object itself, so keeping them
    would roughly double the memory of every cached object. Label and annotation strings repeat
    across the replicas of a workload (an injected pod's sidecar status alone is ~300 bytes):
    interned, each is stored once, and so is a slimmed spec (a pod's container ports) that equals
    another's. A PartialObjectMetadata becomes a body of the real kind with its metadata alone.
    """
    metadata = slim_metadata(dict(as_dict(item.get("metadata"))))
    if item.get("kind") == "PartialObjectMetadata":
        return Resource({"apiVersion": resource.api_version, "kind": resource.kind, "metadata": metadata})
    body = dict(slim(item, resource.detail), metadata=metadata)
    body["apiVersion"] = resource.api_version
    body["kind"] = resource.kind
    if resource.detail is not Detail.SPEC and "spec" in body:
        body["spec"] = _shared(orjson.dumps(body["spec"], option=orjson.OPT_SORT_KEYS))
    return Resource(body)


@lru_cache(maxsize=4096)
def _shared(spec: bytes) -> Body:
    """One object per distinct slimmed spec: the replicas of a workload have the same ports. The
    inventory's objects are only read, never changed, so sharing is safe."""
    decoded: Body = orjson.loads(spec)
    return decoded
