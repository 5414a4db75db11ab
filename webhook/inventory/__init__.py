"""The world the cross rules look at: one indexed store, fed by files or by the cluster."""

from webhook.inventory.store import Inventory

__all__ = ["Inventory"]
