"""Where the inventory comes from (static files, or the live cluster), and the World one check sees.

The server asks its source for the current World on every review and, before denying because
something is missing, asks it to confirm the absence (`confirm`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

from webhook.findings import Lookup
from webhook.inventory.store import Inventory, InventoryView
from webhook.model import Resource


class World(NamedTuple):
    """What one check runs against, fixed for one review (server) or one run (CLI): the inventory,
    and why absence in it means nothing right now (`incomplete`: the live view is not synced or is
    stale, the server has no inventory, the CLI was told its inputs are partial). Cross rules run
    only in a complete world."""

    inventory: InventoryView
    incomplete: str | None = None

    @property
    def complete(self) -> bool:
        return self.incomplete is None


class InventorySource(Protocol):
    def current(self) -> World:
        """The world to check a review against, as it stands now."""
        ...

    def ready(self) -> bool:
        """Whether the server may report ready (the first sync is done)."""
        ...

    def confirm(self, lookups: Sequence[Lookup]) -> list[Resource] | None:
        """Objects answering `lookups` read directly from the source of truth, added to the
        inventory; [] when they are confirmed absent; None when that could not be confirmed in time."""
        ...


NO_INVENTORY = "cross-object checks skipped: the server has no inventory (no --context and no cluster access)"


class StaticSource:
    """A fixed inventory: `--context` files, or nothing at all (cross rules then skipped)."""

    def __init__(self, resources: Sequence[Resource] = (), *, known: bool | None = None):
        known = bool(resources) if known is None else known
        self._world = World(Inventory(resources), None if known else NO_INVENTORY)

    def current(self) -> World:
        return self._world

    def ready(self) -> bool:
        return True

    def confirm(self, lookups: Sequence[Lookup]) -> list[Resource] | None:
        return []
