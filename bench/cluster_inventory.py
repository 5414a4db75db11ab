"""The live inventory at cluster scale: memory per process, time to first sync, cost of cross rules.

Run from the repository root (the fake API server comes from the tests):

    PYTHONPATH=. .venv/bin/python bench/cluster_inventory.py [--services 10000] [--pods 50000]
        [--istio 5000] [--reviews 2000]

1. Inventory memory: objects shaped as the API sends them (whole injected Pods with their status,
   kinds read at metadata detail as PartialObjectMetadata, with managedFields and kubectl's
   last-applied annotation), decoded and slimmed to the detail the rules declare as the watches do
   and added to one Inventory, in a child process: tracemalloc's count of what stays allocated,
   and how long a full garbage collection then takes.
   Then what the pods' detail costs: bytes per pod on the wire and time per pod to decode and
   keep it, read as PartialObjectMetadata (metadata) and whole but kept slim (container ports).
2. First sync: the tests' fake API server holds the same objects in a child process; a LiveSource
   in this process lists them in pages of 500 through the real client until ready(). The growth of
   this process's resident set is what each process watching the cluster pays.
3. Review cost: Engine.check on VirtualServices against that live inventory (cross rules run) and
   against an empty, incomplete one (cross rules skipped), interleaved; p50 and p99 of each.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import orjson

from tests.cluster.fakeapi import FakeApi
from webhook.cluster import LiveSettings, connect
from webhook.cluster.api import _decode
from webhook.cluster.objects import inventory_resource
from webhook.cluster.reflector import WatchSettings
from webhook.cluster.resources import API_RESOURCES, INVENTORY_KINDS, ApiResource
from webhook.engine import Engine
from webhook.inventory import Inventory, World
from webhook.inventory.detail import Detail
from webhook.kinds import POD
from webhook.model import Resource
from webhook.policy import Policy

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


# --- a cluster's objects ----------------------------------------------------------------------------


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


# --- measurements -----------------------------------------------------------------------------------


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def measure_memory(args: argparse.Namespace, out: Connection) -> None:
    tracemalloc.start()
    inventory = Inventory()
    for body in cluster(args.services, args.pods, args.istio):
        kind = body["kind"]
        inventory.add(inventory_resource(orjson.loads(as_sent(body)), RESOURCES[kind]))
    gc.collect()
    traced, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out.send((len(inventory), traced / 2**20, full_collection_ms()))


def measure_pod_detail() -> str:
    """Per pod, at each detail the rules could declare: bytes sent and microseconds to decode a
    500-pod page and keep what the inventory keeps (the best of 20 pages)."""
    pods = [pod(i, i % 100, f"team-{i % 10}") for i in range(500)]
    shown = []
    for detail in (Detail.METADATA, Detail.PORTS):
        resource = replace(API_RESOURCES[POD], detail=detail).at("v1")
        page = orjson.dumps({"items": [orjson.loads(as_sent(p, resource)) for p in pods]})
        best = float("inf")
        for _ in range(20):
            started = time.perf_counter()
            for item in _decode(page)["items"]:  # as the watches decode: cyclic GC paused
                inventory_resource(item, resource)
            best = min(best, time.perf_counter() - started)
        shown.append(f"{detail}: {len(page) / len(pods):.0f} bytes, {best / len(pods) * 1e6:.0f} us")
    return "; ".join(shown)


def full_collection_ms() -> float:
    started = time.perf_counter()
    gc.collect()
    return (time.perf_counter() - started) * 1000


def serve_fake(args: argparse.Namespace, kubeconfig: Path, ready: Connection, stop: Connection) -> None:
    fake = FakeApi()
    for body in cluster(args.services, args.pods, args.istio):
        fake.put(body)
    fake.start()
    fake.write_kubeconfig(kubeconfig)
    ready.send(True)
    stop.recv()
    fake.stop()


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def time_reviews(world: World, reviews: int) -> tuple[list[float], list[float]]:
    """Seconds per Engine.check of a VirtualService, with the inventory and without, interleaved
    (after a warm-up round that fills the engine's caches)."""
    engine = Engine(Policy())
    empty = World(Inventory(), "cross rules skipped")
    objects = [Resource(virtual_service(i, f"team-{i % 7}", 500)) for i in range(20)]
    with_cross: list[float] = []
    without: list[float] = []
    for n in range(-len(objects), reviews):
        vs = objects[n % len(objects)]
        for target, samples in ((world, with_cross), (empty, without)):
            started = time.perf_counter()
            engine.check(vs, target)
            if n >= 0:
                samples.append(time.perf_counter() - started)
    return with_cross, without


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--pods", type=int, default=50_000)
    parser.add_argument("--istio", type=int, default=5_000)
    parser.add_argument("--reviews", type=int, default=2_000)
    args = parser.parse_args()
    fork = multiprocessing.get_context("fork")
    print(
        f"cluster: {args.services} Services, {args.pods} Pods, {args.istio} Istio objects, "
        f"{max(1, args.services // 50)} Namespaces",
        flush=True,
    )

    receive, send = fork.Pipe(duplex=False)
    child = fork.Process(target=measure_memory, args=(args, send))
    child.start()
    objects, traced, collection = receive.recv()
    child.join()
    print(
        f"inventory memory: {objects} objects, {traced:.0f} MiB allocated (tracemalloc); "
        f"a full garbage collection then takes {collection:.0f} ms",
        flush=True,
    )
    print(f"per pod, on the wire and to decode and keep: {measure_pod_detail()}", flush=True)

    ready_in, ready_out = fork.Pipe(duplex=False)
    stop_in, stop_out = fork.Pipe(duplex=False)
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        server = fork.Process(target=serve_fake, args=(args, kubeconfig, ready_out, stop_in))
        server.start()
        ready_in.recv()
        gc.collect()
        rss_before = rss_mib()
        started = time.perf_counter()
        settings = LiveSettings(watch=WatchSettings(page_size=500))
        live = connect(str(kubeconfig), "fake", settings=settings, registry=None)
        while not live.ready():
            time.sleep(0.01)
        synced = time.perf_counter() - started
        collection = full_collection_ms()
        print(
            f"first sync: {synced:.1f} s for {len(live.inventory)} objects; this process's resident set "
            f"+{rss_mib() - rss_before:.0f} MiB (the inventory and the client's buffers); "
            f"a full garbage collection after the sync's gc.freeze() takes {collection:.0f} ms",
            flush=True,
        )
        with_cross, without = time_reviews(live.current(), args.reviews)
        live.stop()
        stop_out.send(True)
        server.join()
    ms = 1000
    p50 = (percentile(with_cross, 0.5) * ms, percentile(without, 0.5) * ms)
    p99 = (percentile(with_cross, 0.99) * ms, percentile(without, 0.99) * ms)
    print(
        f"VirtualService review, {args.reviews} each: with the inventory p50 {p50[0]:.3f} ms "
        f"p99 {p99[0]:.3f} ms; cross rules skipped p50 {p50[1]:.3f} ms p99 {p99[1]:.3f} ms"
    )
    print(
        f"added by cross rules: p50 {p50[0] - p50[1]:.3f} ms, p99 {p99[0] - p99[1]:.3f} ms "
        f"(mean {statistics.fmean(with_cross) * ms - statistics.fmean(without) * ms:.3f} ms)"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident set of this process: {peak:.0f} MiB")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
