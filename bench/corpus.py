"""A generated mesh repository: N Kubernetes and Istio objects, deterministic for a seed, some of
them breaking a convention, for the CLI and checkov benchmarks.

    .venv/bin/python bench/corpus.py N OUT [--seed S] [--violations RATE]

OUT is a `.yaml` file (one multi-document stream) or a directory (one file per app, in a folder
per namespace). The objects come in apps of ten, as a team's repository holds them: a Deployment
and a Service for the stable version and for a canary (their Pods labelled `app` and `version`),
a VirtualService splitting the mesh traffic between the two, one binding the app to its Gateway,
a DestinationRule with the two subsets, the Gateway on istio-system's ingress gateway, an
injected Pod as `kubectl get -o yaml` shows it, and a one-off Job's Pod. The first two objects
are the ingress gateway's Deployment and Service, so that selectors and ports resolve. A namespace
holds 50 apps.

Each object but the injected Pod breaks one convention with probability RATE (default 0.1), in
one of the ways teams do: a workload without an app or version label, probe rewriting off, a
sidecar annotation with a value the injector refuses or on the wrong metadata, a port whose
protocol Istio cannot tell, a VirtualService naming a Gateway or subset that does not exist or a
Gateway as `./name`, no catch-all route, a malformed timeout, a Gateway host that is no fully
qualified name, a subset selecting no Pods, TLS without a CA. What was broken,
per rule, goes to standard error.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import yaml

TEAMS = ["payments", "catalog", "search", "accounts", "shipping", "ledger", "media", "orders"]
SERVICES = ["api", "web", "worker", "cart", "quotes", "pricing", "profile", "ratings", "notify", "auth"]
APPS_PER_NAMESPACE = 50
PROXY_IMAGE = "docker.io/istio/proxyv2:1.24.2"

Object = dict[str, Any]


def _meta(name: str, namespace: str, **fields: Any) -> Object:
    return {"name": name, "namespace": namespace, **{k: v for k, v in fields.items() if v}}


def _container(name: str, image: str, port: int) -> Object:
    return {
        "name": name,
        "image": image,
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
        "env": [{"name": "PORT", "value": str(port)}, {"name": "LOG_FORMAT", "value": "json"}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": port}, "periodSeconds": 5},
        "livenessProbe": {"httpGet": {"path": "/live", "port": port}, "initialDelaySeconds": 15},
    }


def ingress_gateway() -> list[Object]:
    labels = {"app": "istio-ingressgateway", "istio": "ingressgateway"}
    proxy = {
        "name": "istio-proxy",
        "image": PROXY_IMAGE,
        "args": ["proxy", "router", "--domain", "$(POD_NAMESPACE).svc.cluster.local"],
        "ports": [{"containerPort": port, "protocol": "TCP"} for port in (15021, 8080, 8443, 15090)],
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta("istio-ingressgateway", "istio-system", labels=dict(labels)),
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": {**labels, "sidecar.istio.io/inject": "false"}},
                "spec": {"serviceAccountName": "istio-ingressgateway", "containers": [proxy]},
            },
        },
    }
    ports = [("status-port", 15021, 15021), ("http2", 80, 8080), ("https", 443, 8443)]
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta("istio-ingressgateway", "istio-system", labels=dict(labels)),
        "spec": {
            "type": "LoadBalancer",
            "selector": dict(labels),
            "ports": [{"name": n, "port": p, "targetPort": t, "protocol": "TCP"} for n, p, t in ports],
        },
    }
    return [deployment, service]


class App:
    """One app's ten objects; `_breaks` draws whether an object breaks a convention, and which."""

    def __init__(self, rng: random.Random, index: int, rate: float, broken: Counter[str]):
        self.rng, self.rate, self.broken = rng, rate, broken
        team = TEAMS[(index // APPS_PER_NAMESPACE) % len(TEAMS)]
        self.namespace = f"{team}-{index // APPS_PER_NAMESPACE:03d}"
        self.name = f"{SERVICES[index % len(SERVICES)]}-{index}"
        self.host = f"{self.name}.{self.namespace}.svc.cluster.local"
        self.public = f"{self.name}.shop.example.com"

    def _breaks(self, *codes: str) -> str | None:
        if self.rng.random() >= self.rate:
            return None
        code = self.rng.choice(codes)
        self.broken[code] += 1
        return code

    def objects(self) -> Iterator[Object]:
        yield self.deployment("v1")
        yield self.service(self.name, {"app": self.name})
        yield self.deployment("v2")
        yield self.service(f"{self.name}-canary", {"app": self.name, "version": "v2"})
        yield self.mesh_routes()
        yield self.edge_routes()
        yield self.destination_rule()
        yield self.gateway()
        yield self.injected_pod()
        yield self.job_pod()

    def deployment(self, version: str) -> Object:
        labels = {"app": self.name, "version": version}
        annotations = {"prometheus.io/scrape": "true", "prometheus.io/port": "15020"}
        outer: dict[str, str] = {}
        broken = self._breaks("MW101", "MW102", "MW103", "MW104")
        if broken == "MW101":
            del labels["version"]
        elif broken == "MW102":
            annotations["sidecar.istio.io/rewriteAppHTTPProbers"] = "false"
        elif broken == "MW103":
            annotations["sidecar.istio.io/proxyCPU"] = "half a core"
        elif broken == "MW104":
            outer["sidecar.istio.io/proxyMemory"] = "256Mi"
        image = f"registry.example.com/{self.namespace}/{self.name}:2.{version[1]}.0"
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": _meta(
                f"{self.name}-{version}", self.namespace, labels={"app": self.name}, annotations=outer
            ),
            "spec": {
                "replicas": 3 if version == "v1" else 1,
                "selector": {"matchLabels": dict(labels)},
                "template": {
                    "metadata": {"labels": labels, "annotations": annotations},
                    "spec": {
                        "serviceAccountName": self.name,
                        "containers": [_container(self.name, image, 8080)],
                    },
                },
            },
        }

    def service(self, name: str, selector: dict[str, str]) -> Object:
        port: Object = {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}
        if self._breaks("MW201"):
            port["name"] = self.rng.choice(("web", "api", "8080"))
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(name, self.namespace, labels={"app": self.name}),
            "spec": {"selector": selector, "ports": [port]},
        }

    def _destination(self, subset: str, weight: int | None = None) -> Object:
        destination: Object = {"destination": {"host": self.host, "subset": subset}}
        if weight is not None:
            destination["weight"] = weight
        return destination

    def mesh_routes(self) -> Object:
        http: list[Object] = [
            {
                "name": "canary-header",
                "match": [{"headers": {"x-canary": {"exact": "always"}}}],
                "route": [self._destination("v2")],
            },
            {
                "name": "default",
                "route": [self._destination("v1", 95), self._destination("v2", 5)],
                "timeout": "10s",
                "retries": {"attempts": 3, "perTryTimeout": "2s", "retryOn": "5xx,reset"},
            },
        ]
        broken = self._breaks("MW305", "MW307", "MW309")
        if broken == "MW305":
            http[0]["route"] = [self._destination("canary")]
        elif broken == "MW307":
            http[1]["match"] = [{"uri": {"prefix": "/v1"}}]
        elif broken == "MW309":
            http[1]["timeout"] = self.rng.choice(("5", "five seconds", "-1s"))
        return {
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": _meta(self.name, self.namespace),
            "spec": {"hosts": [self.host], "http": http},
        }

    def edge_routes(self) -> Object:
        gateway = f"{self.name}-gateway"
        broken = self._breaks("MW301", "MW302")
        if broken == "MW301":
            gateway = f"{self.name}-ingress"
        elif broken == "MW302":
            gateway = f"./{gateway}"
        return {
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": _meta(f"{self.name}-public", self.namespace),
            "spec": {
                "hosts": [self.public],
                "gateways": [gateway],
                "http": [
                    {
                        "match": [{"uri": {"prefix": "/"}}],
                        "route": [{"destination": {"host": self.host, "port": {"number": 80}}}],
                    }
                ],
            },
        }

    def destination_rule(self) -> Object:
        policy: Object = {
            "tls": {"mode": "ISTIO_MUTUAL"},
            "connectionPool": {"http": {"http1MaxPendingRequests": 100, "maxRequestsPerConnection": 10}},
            "outlierDetection": {"consecutive5xxErrors": 5, "interval": "30s", "baseEjectionTime": "1m"},
        }
        subsets = [{"name": v, "labels": {"version": v}} for v in ("v1", "v2")]
        broken = self._breaks("MW501", "MW502")
        if broken == "MW501":
            subsets[1]["labels"] = {"version": "v3"}
        elif broken == "MW502":
            policy["tls"] = {"mode": "SIMPLE", "sni": self.public}
        return {
            "apiVersion": "networking.istio.io/v1",
            "kind": "DestinationRule",
            "metadata": _meta(self.name, self.namespace),
            "spec": {"host": self.host, "trafficPolicy": policy, "subsets": subsets},
        }

    def gateway(self) -> Object:
        hosts = [self.public]
        if self._breaks("MW403"):
            hosts = [self.rng.choice((self.name, f"*{self.public}"))]
        return {
            "apiVersion": "networking.istio.io/v1",
            "kind": "Gateway",
            "metadata": _meta(f"{self.name}-gateway", self.namespace),
            "spec": {
                "selector": {"istio": "ingressgateway"},
                "servers": [
                    {
                        "port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                        "hosts": hosts,
                        "tls": {"mode": "SIMPLE", "credentialName": f"{self.name}-cert"},
                    },
                    {
                        "port": {"number": 80, "name": "http", "protocol": "HTTP"},
                        "hosts": list(hosts),
                        "tls": {"httpsRedirect": True},
                    },
                ],
            },
        }

    def injected_pod(self) -> Object:
        suffix = f"{self.rng.getrandbits(36):09x}"
        replica_set = f"{self.name}-v1-{suffix}"
        labels = {
            "app": self.name,
            "version": "v1",
            "pod-template-hash": suffix,
            "security.istio.io/tlsMode": "istio",
            "service.istio.io/canonical-name": self.name,
            "service.istio.io/canonical-revision": "v1",
        }
        status = (
            '{"initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":["workload-socket",'
            '"credential-socket","workload-certs","istio-envoy","istio-data","istio-podinfo","istio-token",'
            '"istiod-ca-cert"],"imagePullSecrets":null,"revision":"default"}'
        )
        app = _container(self.name, f"registry.example.com/{self.namespace}/{self.name}:2.1.0", 8080)
        app["readinessProbe"] = {"httpGet": {"path": f"/app-health/{self.name}/readyz", "port": 15020}}
        app["livenessProbe"] = {"httpGet": {"path": f"/app-health/{self.name}/livez", "port": 15020}}
        proxy = {
            "name": "istio-proxy",
            "image": PROXY_IMAGE,
            "args": ["proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local"],
            "ports": [{"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}],
            "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 15021}, "periodSeconds": 15},
        }
        init = {"name": "istio-init", "image": PROXY_IMAGE, "args": ["istio-iptables", "-p", "15001"]}
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": _meta(
                f"{replica_set}-{self.rng.getrandbits(20):05x}",
                self.namespace,
                labels=labels,
                annotations={"sidecar.istio.io/status": status, "prometheus.io/port": "15020"},
                ownerReferences=[
                    {
                        "apiVersion": "apps/v1",
                        "kind": "ReplicaSet",
                        "name": replica_set,
                        "uid": f"{self.rng.getrandbits(128):032x}",
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            ),
            "spec": {"serviceAccountName": self.name, "initContainers": [init], "containers": [app, proxy]},
        }

    def job_pod(self) -> Object:
        labels = {"app": f"{self.name}-migrate", "version": "v1"}
        annotations: dict[str, str] = {}
        broken = self._breaks("MW101", "MW103")
        if broken == "MW101":
            del labels["app"]
        elif broken == "MW103":
            labels["sidecar.istio.io/inject"] = "sometimes"
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": _meta(f"{self.name}-migrate", self.namespace, labels=labels, annotations=annotations),
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "migrate",
                        "image": f"registry.example.com/{self.namespace}/{self.name}-migrate:2.1.0",
                        "args": ["migrate", "--to", "latest"],
                    }
                ],
            },
        }


def generate(
    count: int, seed: int = 1, rate: float = 0.1
) -> tuple[list[tuple[App | None, list[Object]]], Counter[str]]:
    """`count` objects grouped by app (None: the ingress gateway), and what was broken per rule."""
    rng, broken = random.Random(seed), Counter[str]()
    groups: list[tuple[App | None, list[Object]]] = [(None, ingress_gateway()[:count])]
    left, index = count - len(groups[0][1]), 0
    while left > 0:
        app = App(rng, index, rate, broken)
        objects = [obj for obj, _ in zip(app.objects(), range(left), strict=False)]
        groups.append((app, objects))
        left -= len(objects)
        index += 1
    return groups, broken


def write(groups: list[tuple[App | None, list[Object]]], out: Path) -> None:
    if out.suffix in (".yaml", ".yml"):
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8") as stream:
            _dump([o for _, objects in groups for o in objects], stream)
        return
    for app, objects in groups:
        folder = out / (app.namespace if app else "istio-system")
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / f"{app.name if app else 'ingressgateway'}.yaml").open("w", encoding="utf-8") as stream:
            _dump(objects, stream)


def _dump(objects: list[Object], stream: TextIO) -> None:
    """Block style, keys in the order written, as kubectl and Helm print objects."""
    yaml.dump_all(
        objects,
        stream,
        Dumper=yaml.CSafeDumper,
        sort_keys=False,
        default_flow_style=False,
        width=1000,
        explicit_start=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("count", type=int, help="number of objects")
    parser.add_argument("out", type=Path, help="a .yaml file, or a directory")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--violations", type=float, default=0.1, metavar="RATE")
    args = parser.parse_args()
    groups, broken = generate(args.count, args.seed, args.violations)
    write(groups, args.out)
    kinds = Counter(o["kind"] for _, objects in groups for o in objects)
    print(
        f"{sum(kinds.values())} objects ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}); "
        f"{sum(broken.values())} broken ({', '.join(f'{k} {n}' for k, n in sorted(broken.items()))})",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
