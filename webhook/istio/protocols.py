"""Istio's protocol selection for Service ports (ConvertProtocol) and Gateway server ports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PROTOCOLS = ("http", "http2", "https", "grpc", "grpc-web", "tcp", "tls", "udp", "mongo", "mysql", "redis")
APP_PROTOCOL_ALIASES = {
    "kubernetes.io/h2c": "http2",
    "kubernetes.io/ws": "http",
    "kubernetes.io/wss": "https",
}
GATEWAY_PROTOCOLS = frozenset(p.upper() for p in PROTOCOLS) | {"HTTP_PROXY"}

PORT_NAME_SUGGESTIONS = {
    80: "http",
    8080: "http",
    9080: "http",
    443: "https",
    3306: "mysql",
    6379: "redis",
    27017: "mongo",
    50051: "grpc",
}


def protocol_of_name(name: str) -> str | None:
    """The protocol a port name declares (`http-web` → http, `grpc-web-x` → grpc-web), or None."""
    lowered = name.lower()
    if lowered.startswith("grpc-web"):
        return "grpc-web"
    prefix = lowered.split("-", 1)[0]
    return prefix if prefix in PROTOCOLS else None


def protocol_of_app_protocol(app_protocol: str) -> str | None:
    lowered = app_protocol.strip().lower()
    if lowered in APP_PROTOCOL_ALIASES:
        return APP_PROTOCOL_ALIASES[lowered]
    return lowered if lowered in PROTOCOLS else None


def protocol_of_number(port: object) -> str | None:
    """The protocol a well-known port number implies (80 → http, 3306 → mysql), or None."""
    return PORT_NAME_SUGGESTIONS.get(port) if isinstance(port, int) and not isinstance(port, bool) else None


def protocol_in_name(name: str) -> tuple[str, str] | None:
    """A protocol word among a name's `-`-separated words, and the name without it:
    `jaeger-collector-http` → (http, jaeger-collector), `ui-grpc-web` → (grpc-web, ui)."""
    words = name.split("-")
    lowered = [w.lower() for w in words]
    for i, word in enumerate(lowered):
        size = 2 if lowered[i : i + 2] == ["grpc", "web"] else 1
        if size == 2 or word in PROTOCOLS:
            protocol = "-".join(lowered[i : i + size])
            return protocol, "-".join(words[:i] + words[i + size :])
    return None


# Protocols whose traffic reaches a VirtualService's http routes (Istio's protocol.IsHTTP).
HTTP_ROUTED = frozenset({"http", "http2", "grpc", "grpc-web"})


def service_port_protocol(port: Mapping[str, Any]) -> str | None:
    """A Service port's protocol as Istio's ConvertProtocol reads it: Kubernetes `protocol: UDP`
    first, then `appProtocol`, which replaces the name; None when it is sniffed."""
    if str(port.get("protocol") or "TCP").upper() == "UDP":
        return "udp"
    app_protocol = port.get("appProtocol")
    if isinstance(app_protocol, str) and app_protocol:
        return APP_PROTOCOL_ALIASES.get(app_protocol) or protocol_of_name(app_protocol)
    return protocol_of_name(str(port.get("name") or ""))


def entry_port_protocol(port: Mapping[str, Any]) -> str | None:
    """A ServiceEntry port's protocol: its `protocol` field, else the protocol its name declares."""
    declared = port.get("protocol")
    if isinstance(declared, str) and declared:
        return protocol_of_name(declared)
    return protocol_of_name(str(port.get("name") or ""))
