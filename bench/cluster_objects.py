"""A cluster's objects, shaped as the API sends them: Namespaces, Services, injected Pods and Istio
objects, deterministic for given counts. Shared by the benchmarks that need a cluster-scale inventory
(bench/cluster_inventory.py, bench/engine.py).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import orjson

from webhook.cluster.objects import inventory_resource
from webhook.cluster.resources import INVENTORY_KINDS, ApiResource
from webhook.model import Resource

Body = dict[str, Any]
SIDECAR_VOLUMES = (
    "workload-socket",
    "credential-socket",
    "workload-certs",
    "istio-envoy",
    "istio-data",
    "istio-podinfo",
    "istio-token",
    "istiod-ca-cert",
)
SIDECAR_STATUS = orjson.dumps(
    {
        "initContainers": ["istio-init"],
        "containers": ["istio-proxy"],
        "volumes": list(SIDECAR_VOLUMES),
        "imagePullSecrets": None,
        "revision": "default",
    }
).decode()
MANAGED_FIELDS = [
    {
        "manager": "kube-controller-manager",
        "operation": "Update",
        "apiVersion": "v1",
        "time": "2024-05-01T10:00:00Z",
        "fieldsType": "FieldsV1",
        "fieldsV1": {
            "f:metadata": {
                "f:generateName": {},
                "f:labels": {".": {}, "f:app": {}, "f:version": {}},
                "f:ownerReferences": {".": {}, 'k:{"uid":"x"}': {}},
            },
            "f:spec": {"f:containers": {'k:{"name":"app"}': {".": {}, "f:image": {}, "f:name": {}}}},
        },
    },
    {
        "manager": "kubelet",
        "operation": "Update",
        "apiVersion": "v1",
        "time": "2024-05-01T10:00:05Z",
        "fieldsType": "FieldsV1",
        "subresource": "status",
        "fieldsV1": {
            "f:status": {"f:conditions": {}, "f:containerStatuses": {}, "f:podIP": {}, "f:phase": {}}
        },
    },
]


def cluster(services: int, pods: int, istio: int) -> Iterator[Body]:
    namespaces = max(1, services // 50)
    for n in range(namespaces):
        yield {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": meta(
                f"team-{n}",
                "",
                labels={"istio-injection": "enabled", "kubernetes.io/metadata.name": f"team-{n}"},
            ),
        }
    for i in range(services):
        yield service(i, f"team-{i % namespaces}")
    for i in range(pods):
        app = i % services
        yield pod(i, app, f"team-{app % namespaces}")
    kinds = (
        ("VirtualService", 0.4),
        ("DestinationRule", 0.3),
        ("Gateway", 0.1),
        ("ServiceEntry", 0.1),
        ("PeerAuthentication", 0.1),
    )
    for kind, share in kinds:
        for i in range(int(istio * share)):
            yield ISTIO[kind](i, f"team-{i % namespaces}", services)


def meta(name: str, namespace: str, **extra: Any) -> Body:
    body: Body = {
        "name": name,
        "uid": f"0b6a7c1e-{zlib.crc32(name.encode()):012d}",
        "resourceVersion": "1",
        "creationTimestamp": "2024-05-01T10:00:00Z",
        "managedFields": MANAGED_FIELDS,
        **extra,
    }
    if namespace:
        body["namespace"] = namespace
    return body


def service(i: int, namespace: str) -> Body:
    last_applied = orjson.dumps(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": f"app-{i}"},
            "spec": {"ports": [{"name": "http", "port": 9080}]},
        }
    ).decode()
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(
            f"app-{i}",
            namespace,
            labels={"app": f"app-{i}", "service": f"app-{i}"},
            annotations={"kubectl.kubernetes.io/last-applied-configuration": last_applied},
        ),
        "spec": {
            "clusterIP": f"10.96.{i // 250}.{i % 250}",
            "clusterIPs": [f"10.96.{i // 250}.{i % 250}"],
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "internalTrafficPolicy": "Cluster",
            "ports": [
                {"name": "http", "port": 9080, "protocol": "TCP", "targetPort": 9080},
                {"name": "grpc", "port": 50051, "protocol": "TCP", "targetPort": 50051},
            ],
            "selector": {"app": f"app-{i}"},
            "sessionAffinity": "None",
            "type": "ClusterIP",
        },
        "status": {"loadBalancer": {}},
    }


def pod(i: int, app: int, namespace: str) -> Body:
    version = f"v{i % 3 + 1}"
    replicaset = f"app-{app}-{version}-7d4b9c8f6"
    labels = {
        "app": f"app-{app}",
        "version": version,
        "pod-template-hash": "7d4b9c8f6",
        "security.istio.io/tlsMode": "istio",
        "service.istio.io/canonical-name": f"app-{app}",
        "service.istio.io/canonical-revision": version,
    }
    annotations = {
        "istio.io/rev": "default",
        "kubectl.kubernetes.io/default-container": "app",
        "kubectl.kubernetes.io/default-logs-container": "app",
        "prometheus.io/path": "/stats/prometheus",
        "prometheus.io/port": "15020",
        "prometheus.io/scrape": "true",
        "sidecar.istio.io/status": SIDECAR_STATUS,
    }
    owner = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": replicaset,
        "uid": f"rs-{app}-{version}",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta(
            f"{replicaset}-{i:05x}",
            namespace,
            generateName=f"{replicaset}-",
            labels=labels,
            annotations=annotations,
            ownerReferences=[owner],
        ),
        "spec": pod_spec(f"app-{app}", version),
        "status": POD_STATUS,
    }


def pod_spec(app: str, version: str) -> Body:
    """An injected pod's spec, about as long as Istio's sidecar injector makes it."""
    mounts = [{"name": v, "mountPath": f"/var/run/{v}"} for v in SIDECAR_VOLUMES]
    return {
        "serviceAccountName": app,
        "nodeName": "node-1",
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "initContainers": [
            {
                "name": "istio-init",
                "image": "docker.io/istio/proxyv2:1.24.0",
                "args": ["istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT"],
                "resources": {"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "10m"}},
                "securityContext": {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]}},
            }
        ],
        "containers": [
            {
                "name": "app",
                "image": f"example/{app}:{version}",
                "ports": [{"name": "http", "containerPort": 9080, "protocol": "TCP"}],
                "env": [{"name": f"SETTING_{n}", "value": f"value-{n}"} for n in range(6)],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                "readinessProbe": {"httpGet": {"path": "/app-health/app/readyz", "port": 15020}},
                "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
            },
            {
                "name": "istio-proxy",
                "image": "docker.io/istio/proxyv2:1.24.0",
                "args": ["proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local"],
                "ports": [
                    {"name": "http-envoy-prom", "containerPort": 15090, "protocol": "TCP"},
                ],
                "env": [{"name": f"ISTIO_META_{n}", "value": f"value-{n}"} for n in range(20)],
                "resources": {"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "10m"}},
                "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 15021}},
                "volumeMounts": mounts,
            },
        ],
        "volumes": [{"name": v, "emptyDir": {}} for v in (*SIDECAR_VOLUMES, "tmp")],
    }


POD_STATUS: Body = {
    "phase": "Running",
    "podIP": "10.244.1.17",
    "hostIP": "172.18.0.2",
    "startTime": "2024-05-01T10:00:01Z",
    "conditions": [
        {"type": t, "status": "True", "lastTransitionTime": "2024-05-01T10:00:05Z"}
        for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
    ],
    "containerStatuses": [
        {
            "name": name,
            "ready": True,
            "restartCount": 0,
            "image": f"example/{name}:1",
            "imageID": f"docker.io/example/{name}@sha256:{'0' * 64}",
            "containerID": f"containerd://{'1' * 64}",
            "started": True,
            "state": {"running": {"startedAt": "2024-05-01T10:00:04Z"}},
        }
        for name in ("app", "istio-proxy")
    ],
}


def virtual_service(i: int, namespace: str, services: int) -> Body:
    host = f"app-{i % services}"
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": meta(f"vs-{i}", namespace),
        "spec": {
            "hosts": [host, f"{host}.example.com"],
            "gateways": ["mesh", f"istio-system/gw-{i % 50}"],
            "http": [
                {
                    "match": [{"uri": {"prefix": "/v2"}}],
                    "route": [{"destination": {"host": host, "subset": "v2"}}],
                },
                {
                    "route": [
                        {"destination": {"host": host, "subset": "v1"}, "weight": 90},
                        {"destination": {"host": host, "subset": "v2"}, "weight": 10},
                    ],
                    "timeout": "5s",
                    "retries": {"attempts": 2, "perTryTimeout": "2s"},
                },
            ],
        },
    }


def destination_rule(i: int, namespace: str, services: int) -> Body:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": meta(f"dr-{i}", namespace),
        "spec": {
            "host": f"app-{i % services}",
            "trafficPolicy": {"connectionPool": {"http": {"maxRequestsPerConnection": 10}}},
            "subsets": [{"name": v, "labels": {"version": v}} for v in ("v1", "v2", "v3")],
        },
    }


def gateway(i: int, namespace: str, services: int) -> Body:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": meta(f"gw-{i}", "istio-system" if i < 50 else namespace),
        "spec": {
            "selector": {"istio": "ingressgateway"},
            "servers": [
                {
                    "port": {"number": 443, "name": f"https-{i}", "protocol": "HTTPS"},
                    "hosts": [f"app-{i}.example.com"],
                    "tls": {"mode": "SIMPLE", "credentialName": f"cert-{i}"},
                }
            ],
        },
    }


def service_entry(i: int, namespace: str, services: int) -> Body:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "ServiceEntry",
        "metadata": meta(f"se-{i}", namespace),
        "spec": {
            "hosts": [f"api-{i}.partner.example"],
            "location": "MESH_EXTERNAL",
            "resolution": "DNS",
            "ports": [{"number": 443, "name": "https", "protocol": "TLS"}],
        },
    }


def peer_authentication(i: int, namespace: str, services: int) -> Body:
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "PeerAuthentication",
        "metadata": meta(f"pa-{i}", namespace),
        "spec": {"mtls": {"mode": "STRICT"}},
    }


ISTIO = {
    "VirtualService": virtual_service,
    "DestinationRule": destination_rule,
    "Gateway": gateway,
    "ServiceEntry": service_entry,
    "PeerAuthentication": peer_authentication,
}
RESOURCES = {spec.kind: spec.at(spec.versions[0]) for spec in INVENTORY_KINDS}


def as_sent(body: Body, resource: ApiResource | None = None) -> bytes:
    """The object as the API sends it to the watches: kinds read at metadata detail as
    PartialObjectMetadata."""
    if (resource or RESOURCES[body["kind"]]).metadata_only:
        return orjson.dumps(
            {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": body["metadata"]}
        )
    return orjson.dumps(body)


def kept(body: Body) -> Resource:
    """What the live inventory keeps of the object: decoded from the wire and slimmed as the watches do."""
    return inventory_resource(orjson.loads(as_sent(body)), RESOURCES[body["kind"]])
