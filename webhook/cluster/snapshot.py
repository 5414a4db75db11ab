"""The cluster listed once into an inventory: the context of `check --cluster` and `audit`."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from webhook.cluster.api import KubeApi
from webhook.cluster.discovery import resolve
from webhook.cluster.objects import inventory_resource
from webhook.cluster.resources import INVENTORY_KINDS, ApiResource
from webhook.inventory import Inventory
from webhook.model import Body

Progress = Callable[[ApiResource, int, "int | None"], None]
"""Called after each page: the resource, objects read so far, and the total when known (the API
tells how many remain; after the last page the total is the count read)."""


def load_inventory(api: KubeApi, *, progress: Progress | None = None, page_size: int = 500) -> Inventory:
    inventory = Inventory()
    for resource in resolve(api, INVENTORY_KINDS).values():
        for item in read_all(api, resource, page_size=page_size, progress=progress):
            inventory.add(inventory_resource(item, resource))
    return inventory


def read_all(
    api: KubeApi, resource: ApiResource, *, page_size: int, progress: Progress | None
) -> Iterator[Body]:
    """Every object of the resource, a page at a time; `progress` is told once a page is consumed."""
    done = 0
    for page in api.pages(resource, page_size=page_size):
        yield from page.items
        done += len(page.items)
        if progress is not None:
            remaining = 0 if page.continue_token is None else page.remaining
            progress(resource, done, None if remaining is None else done + remaining)
