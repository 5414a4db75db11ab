"""Values built to make a backtracking parser take minutes: every parser of user text runs in
linear time, so all of them together, at 256 KiB each, finish well inside one generous deadline.

Annotations are free text up to 256 KiB (Kubernetes' limit for all of an object's annotations),
so anyone who may create a Pod can send these.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

KiB = 1024
SIZE = 256 * KiB
DEADLINE_SECONDS = 60  # the old parsers took minutes for each of several of these values
ROOT = Path(__file__).resolve().parents[2]

READINESS = "readiness.status.sidecar.istio.io/"
SPACES = " " * SIZE
DIGITS = "1" * SIZE

# (annotation, value): each aimed at one parser, and at the backtracking of the pattern it had.
ANNOTATIONS = {
    "uint32, spaces": (READINESS + "initialDelaySeconds", "1" + SPACES + "x"),
    "uint32, spaced unit": (READINESS + "periodSeconds", "1" + SPACES + "s" + SPACES + "x"),
    "uint32, digits": (READINESS + "failureThreshold", DIGITS + "x"),
    "port range": ("traffic.sidecar.istio.io/excludeInboundPorts", "1" + SPACES + "-" + SPACES + "x"),
    "port list": ("traffic.sidecar.istio.io/includeOutboundPorts", "1," * (SIZE // 2) + "x"),
    "port": ("status.sidecar.istio.io/port", DIGITS),
    "cidr prefix length": ("traffic.sidecar.istio.io/excludeOutboundIPRanges", "10.0.0.0/" + DIGITS),
    "cidr list": ("traffic.sidecar.istio.io/includeOutboundIPRanges", "10.0.0.0/8," * (SIZE // 10) + "x"),
    "quantity, digits": ("sidecar.istio.io/proxyCPU", DIGITS + "x"),
    "quantity, fraction": ("sidecar.istio.io/proxyMemory", "1." + DIGITS + "x"),
    "quantity, unit": ("sidecar.istio.io/proxyMemoryLimit", DIGITS + "mb" + "x"),
    "boolean": ("sidecar.istio.io/rewriteAppHTTPProbers", SPACES + "true"),
    "interception mode": ("sidecar.istio.io/interceptionMode", SPACES + "x"),
}
DURATIONS = {
    "duration, digits": DIGITS + "x",
    "duration, fraction": "1." + DIGITS + "x",
    "duration, many parts": "1s" * (SIZE // 2) + "x",
    "duration, spaces": "1" + SPACES + "s",
}


def pod(key: str, value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "labels": {"app": "web", "version": "v1"},
            "annotations": {key: value},
        },
        "spec": {"containers": [{"name": "web", "image": "web:1"}]},
    }


def virtual_service(timeout: str) -> dict[str, Any]:
    route = {
        "route": [{"destination": {"host": "a." * (SIZE // 2) + "com", "port": {"number": DIGITS}}}],
        "timeout": timeout,
        "retries": {"attempts": DIGITS, "perTryTimeout": timeout},
        "fault": {"delay": {"fixedDelay": timeout, "percentage": {"value": 10}}},
    }
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "reviews", "namespace": "shop"},
        "spec": {"hosts": ["reviews"], "http": [route]},
    }


def evaluate() -> None:
    """In the child process: every object through the engine, the message ids it gave on stdout."""
    from webhook.engine import Engine
    from webhook.inventory import Inventory, World
    from webhook.model import Resource
    from webhook.policy import Policy

    engine = Engine(Policy())
    objects = {name: pod(*annotation) for name, annotation in ANNOTATIONS.items()}
    objects |= {name: virtual_service(value) for name, value in DURATIONS.items()}
    found = {}
    for name, body in objects.items():
        resource = Resource(body)
        found[name] = sorted({f.message_id for f in engine.check(resource, World(Inventory([resource])))})
    sys.stdout.buffer.write(orjson.dumps(found))


def test_hostile_values_are_parsed_in_linear_time() -> None:
    child = subprocess.run(
        [sys.executable, "-c", "from tests.rules.test_hostile_values import evaluate; evaluate()"],
        cwd=ROOT,
        capture_output=True,
        timeout=DEADLINE_SECONDS,
        check=True,
    )
    found = orjson.loads(child.stdout)
    assert {name: said for name, said in found.items() if name in ANNOTATIONS} == {
        name: ["MW103/invalid-annotation"] for name in ANNOTATIONS
    }
    assert {name: said for name, said in found.items() if name in DURATIONS} == {
        name: ["MW309/not-a-duration"] for name in DURATIONS
    }
