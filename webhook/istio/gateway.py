"""Istio Gateways as the rules see them: servers, ports, selectors and the pods they select."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webhook.inventory import InventoryView
from webhook.kube import PodTemplate
from webhook.model import Resource, as_dict, as_list, string_map


def servers_of(gateway: Resource) -> list[dict[str, Any]]:
    return [as_dict(server) for server in as_list(gateway.spec.get("servers"))]


def port_number(server: dict[str, Any]) -> int | None:
    number = as_dict(server.get("port")).get("number")
    return number if isinstance(number, int) and not isinstance(number, bool) else None


def selector_of(gateway: Resource) -> Mapping[str, str]:
    return string_map(gateway.spec.get("selector"))


def show_labels(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "(empty: every pod)"


def selector_scope(gateway: Resource, namespace_scoped: bool) -> str | None:
    """The namespace a Gateway's selector looks in: its own when gateways are namespace-scoped."""
    return gateway.namespace if namespace_scoped else None


def gateway_pods(gateway: Resource, inventory: InventoryView, namespace_scoped: bool) -> list[PodTemplate]:
    return inventory.pods_matching(selector_of(gateway), selector_scope(gateway, namespace_scoped))
