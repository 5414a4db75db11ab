"""AdmissionReview bodies shaped as kube-apiserver sends them, built from the samples in examples/."""

from __future__ import annotations

import copy
import uuid
from pathlib import Path
from typing import Any

import orjson

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

RESOURCES = {
    "Pod": ("", "v1", "pods"),
    "Service": ("", "v1", "services"),
    "ConfigMap": ("", "v1", "configmaps"),
    "Namespace": ("", "v1", "namespaces"),
    "Deployment": ("apps", "v1", "deployments"),
    "ReplicaSet": ("apps", "v1", "replicasets"),
    "Job": ("batch", "v1", "jobs"),
    "VirtualService": ("networking.istio.io", "v1", "virtualservices"),
}
OPTIONS = {"CREATE": "CreateOptions", "UPDATE": "UpdateOptions", "DELETE": "DeleteOptions"}


def example(name: str) -> dict[str, Any]:
    """A sample review, with a uid of its own (every call to the API server has a unique uid)."""
    body: dict[str, Any] = orjson.loads((EXAMPLES / name).read_bytes())
    body["request"]["uid"] = str(uuid.uuid4())
    return body


def example_object(name: str) -> dict[str, Any]:
    return example(name)["request"]["object"]  # type: ignore[no-any-return]


def review(
    obj: dict[str, Any] | None,
    operation: str = "CREATE",
    *,
    old: dict[str, Any] | None = None,
    sub_resource: str = "",
    dry_run: bool = False,
    api_version: str = "admission.k8s.io/v1",
    namespace: str | None = None,
) -> dict[str, Any]:
    shown = obj if obj is not None else old
    assert shown is not None
    kind = shown["kind"]
    group, version, resource = RESOURCES[kind]
    metadata = shown["metadata"]
    gvk = {"group": group, "version": version, "kind": kind}
    gvr = {"group": group, "version": version, "resource": resource}
    request: dict[str, Any] = {
        "uid": str(uuid.uuid4()),
        "kind": gvk,
        "resource": gvr,
        "requestKind": gvk,
        "requestResource": gvr,
        "name": metadata.get("name", ""),
        "namespace": namespace if namespace is not None else metadata.get("namespace", ""),
        "operation": operation,
        "userInfo": {
            "username": "kubernetes-admin",
            "groups": ["kubeadm:cluster-admins", "system:authenticated"],
        },
        "object": obj,
        "oldObject": old,
        "dryRun": dry_run,
        "options": {"kind": OPTIONS[operation], "apiVersion": "meta.k8s.io/v1"}
        if operation in OPTIONS
        else None,
    }
    if sub_resource:
        request["subResource"] = sub_resource
        request["requestSubResource"] = sub_resource
    return {"kind": "AdmissionReview", "apiVersion": api_version, "request": request}


def bookinfo_pod(
    *,
    labels: dict[str, str] | None = None,
    namespace: str = "bookinfo",
    annotations: dict[str, str] | None = None,
    owned: bool = False,
) -> dict[str, Any]:
    """The injected productpage pod (sidecar and all); by default with both identity labels."""
    pod = copy.deepcopy(example_object("review-pod-allow.json"))
    metadata = pod["metadata"]
    metadata["namespace"] = namespace
    if labels is not None:
        metadata["labels"] = labels
    metadata["annotations"].update(annotations or {})
    if owned:
        metadata["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "productpage-v1-6b746f74dc",
                "uid": "6fcda717-ae19-4d49-b1a7-23ce33e42a49",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    return pod


def deployment(*, labels: dict[str, str], replicas: int = 1, namespace: str = "bookinfo") -> dict[str, Any]:
    obj = copy.deepcopy(example_object("review-deployment-deny.json"))
    obj["metadata"]["namespace"] = namespace
    obj["spec"]["replicas"] = replicas
    obj["spec"]["template"]["metadata"]["labels"] = labels
    return obj


def service(
    ports: list[dict[str, Any]], *, name: str = "reviews", namespace: str = "bookinfo"
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "uid": str(uuid.uuid4()), "labels": {"app": name}},
        "spec": {
            "selector": {"app": name},
            "ports": ports,
            "type": "ClusterIP",
            "clusterIP": "10.96.12.34",
            "sessionAffinity": "None",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
        },
    }


def virtual_service(
    spec: dict[str, Any], *, name: str = "reviews", namespace: str = "bookinfo"
) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": namespace, "uid": str(uuid.uuid4()), "generation": 1},
        "spec": spec,
    }


def config_map(name: str = "settings", namespace: str = "bookinfo") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"key": "value"},
    }
