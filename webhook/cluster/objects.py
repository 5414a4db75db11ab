"""API answers turned into Resources: the kind filled in, the inventory's copies slimmed."""

from __future__ import annotations

from webhook.cluster.resources import ApiResource
from webhook.loader import slim_metadata
from webhook.model import Body, Resource, as_dict


def full_resource(item: Body, resource: ApiResource) -> Resource:
    """An object as the API gave it. List items of built-in kinds come without kind and apiVersion."""
    item.setdefault("apiVersion", resource.api_version)
    item.setdefault("kind", resource.kind)
    return Resource(item)


def inventory_resource(item: Body, resource: ApiResource) -> Resource:
    """The copy the inventory keeps, without what no cross rule reads.

    managedFields and kubectl's last-applied annotation repeat the object itself, so keeping them
    would roughly double the memory of every cached object. Label and annotation strings repeat
    across the replicas of a workload (an injected pod's sidecar status alone is ~300 bytes):
    interned, each is stored once. A PartialObjectMetadata becomes a body of the real kind with
    its metadata alone.
    """
    metadata = slim_metadata(dict(as_dict(item.get("metadata"))))
    if item.get("kind") == "PartialObjectMetadata":
        return Resource({"apiVersion": resource.api_version, "kind": resource.kind, "metadata": metadata})
    body = dict(item, metadata=metadata)
    body["apiVersion"] = resource.api_version
    body["kind"] = resource.kind
    return Resource(body)
