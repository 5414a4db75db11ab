"""The rule catalogue. Rules live in one module per resource family; this lists the families."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from types import ModuleType

from webhook.inventory.detail import Detail
from webhook.model import GroupKind
from webhook.rules import (
    destinationrules,
    gateway_servers,
    gateways,
    ingress,
    pod_annotations,
    services,
    virtualservices,
    vs_destinations,
    vs_routes,
    workloads,
)
from webhook.rules.registry import Input, Rule

FAMILIES: tuple[ModuleType, ...] = (
    workloads,
    pod_annotations,
    services,
    virtualservices,
    vs_destinations,
    vs_routes,
    gateways,
    gateway_servers,
    destinationrules,
    ingress,
)


class Catalogue:
    def __init__(self, rules: Iterable[Rule]):
        self.rules = tuple(sorted(rules, key=lambda r: r.code))
        self._lookup = {key.lower(): r for r in self.rules for key in (r.code, r.name)}
        self.kinds = frozenset(k for r in self.rules for k in r.kinds)
        self._checked_names = frozenset(k.kind for k in self.kinds)
        self.inputs: dict[GroupKind, Detail] = {}
        """Every kind a rule reads from the inventory, at the highest detail any rule reads it."""
        for read in sorted((i for r in self.rules for i in r.inputs), key=lambda i: (i.kind, i.detail)):
            self.inputs[read.kind] = read.detail

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def find(self, code_or_name: str) -> Rule | None:
        return self._lookup.get(code_or_name.strip().lower())

    def for_kind(self, kind: GroupKind) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if kind in r.kinds)

    def name_of(self, kind: GroupKind) -> str:
        """How reports and metrics name a kind: its name, or `Kind.group` for a kind no rule checks
        that has the name of one a rule checks (`Gateway.gateway.networking.k8s.io` beside Istio's
        `Gateway`)."""
        return str(kind) if kind not in self.kinds and kind.kind in self._checked_names else kind.kind


def _rules_of(module: ModuleType) -> list[Rule]:
    return [value for value in vars(module).values() if isinstance(value, Rule)]


CATALOGUE = Catalogue(r for family in FAMILIES for r in _rules_of(family))

__all__ = ["CATALOGUE", "Catalogue", "Input", "Rule"]
