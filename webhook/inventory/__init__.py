"""The world the cross rules look at: one indexed store, fed by files or by the cluster."""

from webhook.inventory.source import World
from webhook.inventory.store import Inventory, InventoryView

__all__ = ["Inventory", "InventoryView", "World"]
