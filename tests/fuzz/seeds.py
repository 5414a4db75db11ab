"""Realistic objects of every kind the rules cover, wrapped in AdmissionReviews as the API server sends them.

The objects are the bad and good examples of the rule catalogue, the samples in examples/, and
objects.yaml beside this file for the kinds those lack.
"""

from __future__ import annotations

import copy
import random
import uuid
from pathlib import Path
from typing import Any

import orjson
import yaml

from webhook.rules import CATALOGUE

Body = dict[str, Any]

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parents[1] / "examples"

RESOURCES: dict[str, tuple[str, str, str]] = {
    "Pod": ("", "v1", "pods"),
    "Service": ("", "v1", "services"),
    "Namespace": ("", "v1", "namespaces"),
    "ReplicationController": ("", "v1", "replicationcontrollers"),
    "Deployment": ("apps", "v1", "deployments"),
    "StatefulSet": ("apps", "v1", "statefulsets"),
    "DaemonSet": ("apps", "v1", "daemonsets"),
    "ReplicaSet": ("apps", "v1", "replicasets"),
    "Job": ("batch", "v1", "jobs"),
    "CronJob": ("batch", "v1", "cronjobs"),
    "Ingress": ("networking.k8s.io", "v1", "ingresses"),
    "VirtualService": ("networking.istio.io", "v1", "virtualservices"),
    "Gateway": ("networking.istio.io", "v1", "gateways"),
    "DestinationRule": ("networking.istio.io", "v1", "destinationrules"),
    "ServiceEntry": ("networking.istio.io", "v1", "serviceentries"),
    "PeerAuthentication": ("security.istio.io", "v1", "peerauthentications"),
}
OPTIONS = {"CREATE": "CreateOptions", "UPDATE": "UpdateOptions", "DELETE": "DeleteOptions"}
SUBRESOURCES = ("status", "scale", "ephemeralcontainers", "binding")
NAMESPACES = ("bookinfo", "bookinfo", "bookinfo", "default", "payments", "kube-system", "meshwarden")


def seed_objects() -> list[Body]:
    """Every seed object of a covered kind, in a fixed order."""
    documents: list[Any] = []
    for rule in CATALOGUE:
        for text in (rule.bad, rule.good):
            documents.extend(yaml.safe_load_all(text))
    for path in sorted(EXAMPLES.glob("*.json")):
        documents.append(orjson.loads(path.read_bytes())["request"]["object"])
    for path in sorted((EXAMPLES / "bookinfo").glob("*.yaml")):
        documents.extend(yaml.safe_load_all(path.read_text()))
    documents.extend(yaml.safe_load_all((HERE / "objects.yaml").read_text()))
    # Through JSON, as the API server sends them: YAML timestamps and the like become strings.
    return [
        orjson.loads(orjson.dumps(d, default=str))
        for d in documents
        if isinstance(d, dict)
        and d.get("kind") in RESOURCES
        and str(d.get("apiVersion", "")).rpartition("/")[0] == RESOURCES[d["kind"]][0]
    ]


def context_objects() -> list[Body]:
    """What the server's inventory holds during a fuzz run: the seeds, one of each name."""
    unique: dict[tuple[str, str, str], Body] = {}
    for obj in seed_objects():
        metadata = obj.get("metadata") or {}
        namespace = "" if obj["kind"] == "Namespace" else metadata.get("namespace", "bookinfo")
        unique.setdefault((obj["kind"], namespace, metadata.get("name", "")), obj)
    return list(unique.values())


def random_uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def review(rng: random.Random, seed: Body) -> Body:
    """A review of `seed` (copied): an operation, namespace, apiVersion and uid picked by `rng`."""
    obj = copy.deepcopy(seed)
    kind = obj["kind"]
    group, version, resource = RESOURCES[kind]
    metadata = obj.setdefault("metadata", {})
    namespace = "" if kind == "Namespace" else metadata.get("namespace") or rng.choice(NAMESPACES)
    if namespace:
        metadata["namespace"] = namespace
    metadata.setdefault("uid", random_uid(rng))
    metadata.setdefault("creationTimestamp", "2025-03-01T09:30:00Z")
    operation = rng.choices(("CREATE", "UPDATE", "DELETE", "CONNECT"), weights=(60, 30, 8, 2))[0]
    old = None
    if operation == "UPDATE":
        old = copy.deepcopy(obj)
        metadata["resourceVersion"] = str(rng.randint(1000, 99999))
        metadata["generation"] = rng.randint(2, 9)
    elif operation == "DELETE":
        obj, old = None, obj
    gvk = {"group": group, "version": version, "kind": kind}
    gvr = {"group": group, "version": version, "resource": resource}
    request: Body = {
        "uid": random_uid(rng),
        "kind": gvk,
        "resource": gvr,
        "requestKind": gvk,
        "requestResource": gvr,
        "name": metadata.get("name", ""),
        "namespace": namespace,
        "operation": operation,
        "userInfo": {
            "username": rng.choice(
                ("kubernetes-admin", "system:serviceaccount:argocd:argocd-application-controller")
            ),
            "uid": random_uid(rng),
            "groups": ["system:authenticated"],
        },
        "object": obj,
        "oldObject": old,
        "dryRun": rng.random() < 0.1,
        "options": {"kind": OPTIONS[operation], "apiVersion": "meta.k8s.io/v1"}
        if operation in OPTIONS
        else None,
    }
    if operation == "UPDATE" and rng.random() < 0.1:
        request["subResource"] = request["requestSubResource"] = rng.choice(SUBRESOURCES)
    api_version = "admission.k8s.io/v1beta1" if rng.random() < 0.15 else "admission.k8s.io/v1"
    return {"kind": "AdmissionReview", "apiVersion": api_version, "request": request}
