"""Where the admission server's inventory comes from: static files, or the live cluster.

The server asks its source for the current inventory on every review and, before denying
because something is missing, asks it to confirm the absence (`confirm`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from webhook.findings import Lookup
from webhook.inventory.store import Inventory
from webhook.model import Resource


class InventorySource(Protocol):
    def current(self) -> Inventory:
        """The inventory to check against; `complete` is False while it cannot be trusted."""
        ...

    def ready(self) -> bool:
        """Whether the server may report ready (the first sync is done)."""
        ...

    def unavailable_reason(self) -> str | None:
        """Why cross-object checks are skipped right now, or None when they run."""
        ...

    def confirm(self, lookups: Sequence[Lookup]) -> list[Resource] | None:
        """Objects answering `lookups` read directly from the source of truth, added to the
        inventory; [] when they are confirmed absent; None when that could not be confirmed in time."""
        ...


class StaticSource:
    """A fixed inventory: `--context` files, or nothing at all (cross rules then skipped)."""

    def __init__(self, resources: Sequence[Resource] = (), *, known: bool | None = None):
        self._known = bool(resources) if known is None else known
        self._inventory = Inventory(resources, complete=self._known)

    def current(self) -> Inventory:
        return self._inventory

    def ready(self) -> bool:
        return True

    def unavailable_reason(self) -> str | None:
        if self._known:
            return None
        return "cross-object checks skipped: the server has no inventory (no --context and no cluster access)"

    def confirm(self, lookups: Sequence[Lookup]) -> list[Resource] | None:
        return []
