"""Kubernetes objects for the cluster tests, shaped as kubectl would create them."""

from __future__ import annotations

from typing import Any

Body = dict[str, Any]


def namespace(name: str, **labels: str) -> Body:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def service(name: str, ns: str = "default", app: str | None = None, port: int = 9080) -> Body:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": ns,
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": '{"kind":"Service"}'},
        },
        "spec": {"selector": {"app": app or name}, "ports": [{"name": "http", "port": port}]},
    }


def pod(name: str, ns: str = "default", ports: tuple[Body, ...] = (), **labels: str) -> Body:
    """A pod whose container has `ports` (`{"name": "http", "containerPort": 8080}`)."""
    container: Body = {"name": "app", "image": "example/app:1", "env": [{"name": "SECRET", "value": "x"}]}
    if ports:
        container["ports"] = list(ports)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"containers": [container]},
    }


def deployment(name: str, ns: str = "default") -> Body:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": name}]}},
        },
    }


def gateway(name: str, ns: str = "istio-system", host: str = "*.example.com") -> Body:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "selector": {"istio": "ingressgateway"},
            "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": [host]}],
        },
    }


def virtual_service(
    name: str, ns: str = "default", host: str = "reviews", gateways: list[str] | None = None
) -> Body:
    spec: Body = {"hosts": [host], "http": [{"route": [{"destination": {"host": host}}]}]}
    if gateways:
        spec["gateways"] = gateways
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def peer_authentication(name: str = "default", ns: str = "istio-system") -> Body:
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "PeerAuthentication",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"mtls": {"mode": "STRICT"}},
    }
