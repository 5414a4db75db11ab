"""What a rule's check may look at besides the object: the inventory and the policy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from webhook.inventory import Inventory
from webhook.policy import MeshFacts, Policy

if TYPE_CHECKING:
    from webhook.rules.registry import Rule


@dataclass(frozen=True, slots=True)
class Context:
    inventory: Inventory
    policy: Policy

    @property
    def mesh(self) -> MeshFacts:
        return self.policy.mesh

    def options(self, rule: Rule) -> Mapping[str, Any]:
        return self.policy.rule_options(rule)
