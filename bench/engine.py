"""In-process evaluation: how long `Engine.check` takes on one object under review, per kind.

Run from the repository root:

    .venv/bin/python bench/engine.py [--rounds 2000] [--json] [--profile KIND]

Six reviews, each without an inventory (the server without cluster access: cross rules skipped)
and with a 65,000-object live inventory (10,000 Services, 50,000 injected Pods, 5,000 Istio
objects, 200 Namespaces, as bench/cluster_inventory.py builds it, plus the bookinfo objects the
reviews name, so that the cross rules find what they look up): an injected bookinfo Pod and a
VirtualService with 8 routes (the objects of bench/bodies/, the reviews the server is loaded
with), a Deployment, a Service, a Gateway and a DestinationRule. The inventory holds each object
as the watches keep it (slimmed to the detail the rules read), frozen out of the garbage
collector's reach as after the first sync.

Every round times one check of each case, so all cases share the machine's conditions; the
table gives the median and the 99th percentile. `--profile KIND` runs the rounds of that kind
under cProfile instead and prints where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import pstats
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cluster_objects import SIDECAR_STATUS, cluster, kept, meta

from webhook.engine import Engine
from webhook.inventory import Inventory, World
from webhook.inventory.source import NO_INVENTORY
from webhook.model import Resource
from webhook.policy import Policy

Body = dict[str, Any]
BODIES = Path(__file__).resolve().parent / "bodies"
CLUSTER = {"services": 10_000, "pods": 50_000, "istio": 5_000}
WARM_UP = 50


def review_object(name: str) -> Body:
    body: Body = json.loads((BODIES / name).read_text(encoding="utf-8"))["request"]["object"]
    return body


def deployment(version: str) -> Body:
    labels = {"app": "reviews", "version": version}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": f"reviews-{version}",
            "namespace": "bookinfo",
            "labels": labels,
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}\n"},
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": "bookinfo-reviews",
                    "containers": [
                        {
                            "name": "reviews",
                            "image": f"docker.io/istio/examples-bookinfo-reviews-{version}:1.20.2",
                            "imagePullPolicy": "IfNotPresent",
                            "env": [{"name": "LOG_DIR", "value": "/tmp/logs"}],
                            "ports": [{"containerPort": 9080}],
                            "readinessProbe": {"httpGet": {"path": "/health", "port": 9080}},
                            "volumeMounts": [
                                {"name": "tmp", "mountPath": "/tmp"},
                                {"name": "wlp-output", "mountPath": "/opt/ibm/wlp/output"},
                            ],
                            "securityContext": {"runAsUser": 1000},
                        }
                    ],
                    "volumes": [{"name": "wlp-output", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }


def service() -> Body:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "reviews",
            "namespace": "bookinfo",
            "labels": {"app": "reviews", "service": "reviews"},
        },
        "spec": {"selector": {"app": "reviews"}, "ports": [{"name": "http", "port": 9080}]},
    }


def gateway() -> Body:
    hosts = ["bookinfo.example.com"]
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "bookinfo-gateway", "namespace": "bookinfo"},
        "spec": {
            "selector": {"istio": "ingressgateway"},
            "servers": [
                {
                    "port": {"number": 80, "name": "http-bookinfo", "protocol": "HTTP"},
                    "hosts": hosts,
                    "tls": {"httpsRedirect": True},
                },
                {
                    "port": {"number": 443, "name": "https-bookinfo", "protocol": "HTTPS"},
                    "hosts": hosts,
                    "tls": {"mode": "SIMPLE", "credentialName": "bookinfo-cert"},
                },
            ],
        },
    }


def destination_rule() -> Body:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": {"name": "reviews", "namespace": "bookinfo"},
        "spec": {
            "host": "reviews.bookinfo.svc.cluster.local",
            "trafficPolicy": {
                "tls": {"mode": "ISTIO_MUTUAL"},
                "connectionPool": {"http": {"http2MaxRequests": 1000, "maxRequestsPerConnection": 10}},
                "outlierDetection": {"consecutive5xxErrors": 5, "interval": "30s"},
            },
            "subsets": [{"name": v, "labels": {"version": v}} for v in ("v1", "v2", "v3")],
        },
    }


def reviews_pod(version: str) -> Body:
    """The reviews pod of bench/bodies/, as the ReplicaSet of `version` creates it in bookinfo."""
    body = review_object("pod-review.json")
    metadata = body["metadata"]
    metadata.update(name=f"reviews-{version}-5c4d6d447c-x2k9q", namespace="bookinfo")
    metadata["labels"].update(version=version, **{"service.istio.io/canonical-revision": version})
    return body


def ingress_gateway_pod(i: int) -> Body:
    labels = {"app": "istio-ingressgateway", "istio": "ingressgateway"}
    ports = [{"containerPort": port, "protocol": "TCP"} for port in (8080, 8443, 15021, 15090)]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta(
            f"istio-ingressgateway-7f9c6d5b8-{i:05x}",
            "istio-system",
            labels=labels,
            annotations={"sidecar.istio.io/status": SIDECAR_STATUS, "inject.istio.io/templates": "gateway"},
        ),
        "spec": {"containers": [{"name": "istio-proxy", "image": "auto", "ports": ports}]},
    }


def bookinfo() -> list[Body]:
    """What the reviews name: their namespaces, the reviews Service, pods and DestinationRule, and
    the ingress gateway's pods and Service that the Gateway selects."""
    injected = {"istio-injection": "enabled"}
    namespaces = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(name, "", labels=labels)}
        for name, labels in (("bookinfo", injected), ("default", injected), ("istio-system", {}))
    ]
    ingress_service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta("istio-ingressgateway", "istio-system", labels={"istio": "ingressgateway"}),
        "spec": {
            "selector": {"istio": "ingressgateway"},
            "type": "LoadBalancer",
            "ports": [
                {"name": "status-port", "port": 15021, "targetPort": 15021, "protocol": "TCP"},
                {"name": "http2", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                {"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP"},
            ],
        },
    }
    mesh_mtls = {
        "apiVersion": "security.istio.io/v1",
        "kind": "PeerAuthentication",
        "metadata": meta("default", "istio-system"),
        "spec": {"mtls": {"mode": "STRICT"}},
    }
    return [
        *namespaces,
        service(),
        destination_rule(),
        *(reviews_pod(v) for v in ("v1", "v2", "v3")),
        *(ingress_gateway_pod(i) for i in range(3)),
        ingress_service,
        mesh_mtls,
    ]


REVIEWS: dict[str, Callable[[], Body]] = {
    "injected Pod": lambda: review_object("pod-review.json"),
    "Deployment": lambda: deployment("v2"),
    "Service": service,
    "VirtualService, 8 routes": lambda: review_object("vs-review.json"),
    "Gateway": gateway,
    "DestinationRule": destination_rule,
}


def live_inventory() -> Inventory:
    inventory = Inventory()
    for body in (*cluster(**CLUSTER), *bookinfo()):
        inventory.add(kept(body))
    gc.collect()
    gc.freeze()  # as the live inventory does after its first sync
    return inventory


Case = tuple[str, str, Resource, World]


def cases(inventory: Inventory) -> list[Case]:
    worlds = {
        "none": World(Inventory(), NO_INVENTORY),
        f"{len(inventory):,} objects": World(inventory),
    }
    return [
        (kind, shown, Resource(make()), world)
        for kind, make in REVIEWS.items()
        for shown, world in worlds.items()
    ]


def time_cases(engine: Engine, timed: list[Case], rounds: int) -> list[list[float]]:
    """Microseconds per check, one of each case per round (after a warm-up that fills caches)."""
    samples: list[list[float]] = [[] for _ in timed]
    clock = time.perf_counter
    for n in range(-WARM_UP, rounds):
        for (_, _, resource, world), times in zip(timed, samples, strict=True):
            started = clock()
            engine.check(resource, world)
            elapsed = clock() - started
            if n >= 0:
                times.append(elapsed * 1e6)
    return samples


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def profile(engine: Engine, timed: list[Case], kind: str, rounds: int) -> None:
    chosen = [case for case in timed if case[0].lower().startswith(kind.lower())]
    if not chosen:
        raise SystemExit(f"--profile {kind!r}: no such kind; the kinds are {', '.join(REVIEWS)}")
    profiler = cProfile.Profile()
    profiler.runcall(time_cases, engine, chosen, rounds)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2_000, help="checks of each case (default 2000)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--profile", metavar="KIND", help="profile the checks of one kind (e.g. Pod)")
    args = parser.parse_args()
    engine = Engine(Policy())
    timed = cases(live_inventory())
    if args.profile:
        profile(engine, timed, args.profile, args.rounds)
        return
    samples = time_cases(engine, timed, args.rounds)
    rows = [
        {
            "kind": kind,
            "inventory": shown,
            "p50_us": round(percentile(times, 0.5), 1),
            "p99_us": round(percentile(times, 0.99), 1),
        }
        for (kind, shown, _, _), times in zip(timed, samples, strict=True)
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print("| kind | inventory | p50 µs | p99 µs |")
    print("|---|---|---:|---:|")
    for row in rows:
        print(f"| {row['kind']} | {row['inventory']} | {row['p50_us']:.1f} | {row['p99_us']:.1f} |")


if __name__ == "__main__":
    main()
