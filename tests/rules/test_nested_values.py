"""Values no schema allows, where rules read text or numbers: checked like any other, never a crash.

A JSON body may nest 1,024 levels deep, while str(), f-strings and PyYAML recurse once per level
and give up near 1,000; int() refuses more than 4,300 digits. Each case here made a rule fail
(MW000) or the whole check fail, so that the object was admitted unchecked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from webhook.engine import Engine
from webhook.findings import INTERNAL_ERROR_CODE
from webhook.inventory import Inventory, World
from webhook.model import Resource
from webhook.policy import Policy

DEPTH = 1_000
T = TypeVar("T")
MESHED = Resource(
    {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "shop", "labels": {"istio-injection": "enabled"}},
    }
)


def below_a_server_stack(call: Callable[[], T], frames: int = 200) -> T:
    """`call` run that many frames deeper: in the server, gunicorn's and Flask's frames are below
    the engine's, leaving less of the recursion limit to whatever formats a value."""
    return call() if frames == 0 else below_a_server_stack(call, frames - 1)


def nested(depth: int = DEPTH) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def deployment(name: Any, labels: Any, container: dict[str, Any], annotations: Any = None) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": labels, "annotations": annotations or {}},
                "spec": {"containers": [{"name": "web", "image": "web:1", **container}]},
            },
        },
    }


def virtual_service(spec: dict[str, Any], namespace: Any = "shop") -> dict[str, Any]:
    metadata = {"name": "web", "namespace": namespace}
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": metadata,
        "spec": spec,
    }


def route(host: Any = "web", **fields: Any) -> dict[str, Any]:
    return {"route": [{"destination": {"host": host}}], **fields}


def gateway(server: dict[str, Any]) -> dict[str, Any]:
    base = {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"selector": {"istio": "ingressgateway"}, "servers": [{**base, **server}]},
    }


APP = {"app": "web", "version": "v1"}
CASES: dict[str, dict[str, Any]] = {
    "namespace": virtual_service({"hosts": ["web"], "http": [route()]}, namespace=nested()),
    "name": deployment(nested(), {}, {}),
    "name of brackets": deployment("{" * 500, {}, {}),
    "name of 5,000 digits": deployment("9" * 5_000, {}, {}),
    "label value": deployment("web", {"app": nested()}, {}),
    "probe port": deployment(
        "web",
        APP,
        {"readinessProbe": {"httpGet": {"path": "/ready", "port": nested()}}},
        {"sidecar.istio.io/rewriteAppHTTPProbers": "false"},
    ),
    "route host": virtual_service(
        {"hosts": ["web"], "http": [route(nested(), match=[{"uri": {"prefix": "/a"}}])]}
    ),
    "uri prefix": virtual_service(
        {
            "hosts": ["web"],
            "http": [route(match=[{"uri": {"prefix": nested()}}]), route(match=[{"uri": {"prefix": "/b"}}])],
        }
    ),
    "timeout": virtual_service({"hosts": ["web"], "http": [route(timeout=nested())]}),
    "attempts of 20,000 digits": virtual_service(
        {"hosts": ["web"], "http": [route(timeout="1s", retries={"attempts": "0" * 20_000 + "3"})]}
    ),
    "superscript weight": virtual_service(
        {"hosts": ["web"], "http": [{"route": [{"destination": {"host": "web"}, "weight": "²"}]}]}
    ),
    "double minus weight": virtual_service(
        {"hosts": ["web"], "http": [{"route": [{"destination": {"host": "web"}, "weight": "--5"}]}]}
    ),
    "probe port of 20,000 digits": deployment(
        "web",
        APP,
        {"readinessProbe": {"httpGet": {"path": "/ready", "port": "0" * 20_000 + "80"}}},
        {"sidecar.istio.io/rewriteAppHTTPProbers": "false"},
    ),
    "exportTo": virtual_service({"hosts": ["web"], "exportTo": [nested()], "http": [route()]}),
    "subset name": {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "host": "web",
            "subsets": [{"name": nested(), "trafficPolicy": {"tls": {"mode": "SIMPLE"}}}],
        },
    },
    "fault percentage": virtual_service(
        {
            "hosts": ["web"],
            "http": [{"fault": {"abort": {"percentage": {"value": nested()}, "httpStatus": 503}}}],
        }
    ),
    "fault status": virtual_service(
        {
            "hosts": ["web"],
            "http": [{"fault": {"abort": {"percentage": {"value": 5}, "httpStatus": nested()}}}],
        }
    ),
    "server host": gateway({"hosts": [nested()]}),
    "server port": gateway({"port": {"number": nested(), "name": "http", "protocol": "HTTP"}}),
    "service port": {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": nested()}]},
    },
}


@pytest.mark.parametrize("body", CASES.values(), ids=CASES.keys())
def test_no_rule_fails_on_a_value_no_schema_allows(body: dict[str, Any]) -> None:
    findings = below_a_server_stack(
        lambda: Engine(Policy()).check(Resource(body, "shop"), World(Inventory([MESHED])))
    )
    assert findings, "the object should break some convention"
    assert [f.message for f in findings if f.code == INTERNAL_ERROR_CODE] == []
