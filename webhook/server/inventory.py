"""Where the server's inventory comes from: `--context` files, or nothing (cross rules skipped).

The live-cluster source implements the same InventorySource protocol and plugs in here.
"""

from __future__ import annotations

from collections.abc import Sequence

from webhook.inputs import read_paths
from webhook.inventory.source import InventorySource, StaticSource
from webhook.model import Resource


class ContextError(ValueError):
    pass


def load_context(paths: Sequence[str]) -> list[Resource]:
    """Objects of the `--context` files; any unreadable file or document is an error."""
    resources, errors = read_paths(paths, "default")
    if errors:
        raise ContextError("; ".join(str(e) for e in errors))
    return resources


def inventory_source(context_paths: Sequence[str]) -> InventorySource:
    if context_paths:
        return StaticSource(load_context(context_paths), known=True)
    return StaticSource()
