"""The cluster listed once into an inventory: the context of `check --cluster` and `audit`.

Credentials narrower than cluster-admin are common (the server's own ClusterRole lists no
workloads): a kind they may not list is skipped and recorded as Unreadable, and the rest is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from webhook.cluster.api import ApiError, KubeApi
from webhook.cluster.discovery import resolve
from webhook.cluster.objects import inventory_resource
from webhook.cluster.resources import INVENTORY_KINDS, ApiResource
from webhook.inventory import Inventory
from webhook.model import Body

Progress = Callable[[ApiResource, int, "int | None"], None]
"""Called after each page: the resource, objects read so far, and the total when known (the API
tells how many remain; after the last page the total is the count read)."""


FORBIDDEN = 403


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A kind the credentials may not list, and the API's words for it."""

    resource: ApiResource
    reason: str

    def __str__(self) -> str:
        return f"{self.resource.name} ({self.reason})"


def load_inventory(
    api: KubeApi,
    *,
    unreadable: list[Unreadable],
    progress: Progress | None = None,
    page_size: int = 500,
) -> Inventory:
    """Every inventory kind the credentials may list; the others are appended to `unreadable`."""
    inventory = Inventory()
    resources = resolve(api, INVENTORY_KINDS).values()
    for resource, item in read_readable(api, resources, unreadable, page_size=page_size, progress=progress):
        inventory.add(inventory_resource(item, resource))
    return inventory


def read_readable(
    api: KubeApi,
    resources: Iterable[ApiResource],
    unreadable: list[Unreadable],
    *,
    page_size: int,
    progress: Progress | None,
) -> Iterator[tuple[ApiResource, Body]]:
    """Every object of each resource, skipping (into `unreadable`) those the API forbids."""
    for resource in resources:
        try:
            for item in read_all(api, resource, page_size=page_size, progress=progress):
                yield resource, item
        except ApiError as error:
            if error.code != FORBIDDEN:
                raise
            unreadable.append(Unreadable(resource, str(error)))


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
