"""Read-through: before a cross rule denies because something is missing, ask the API directly.

`kubectl apply -f dir/` sends a Gateway and the VirtualService that uses it milliseconds apart,
before the Gateway's watch event reaches the inventory; a direct read sees it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from webhook.cluster.api import ApiError, KubeApi, Unreachable
from webhook.cluster.objects import inventory_resource
from webhook.cluster.resources import ApiResource
from webhook.findings import Lookup
from webhook.model import Body, GroupKind, Resource


def read_through(
    api: KubeApi,
    resources: Mapping[GroupKind, ApiResource],
    lookups: Sequence[Lookup],
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
) -> list[Resource] | None:
    """Objects answering the lookups (a named object, or every object of the kind in the namespace);
    None when any lookup could not be answered within `timeout` seconds in total."""
    deadline = clock() + timeout
    found: list[Resource] = []
    try:
        for lookup in dict.fromkeys(lookups):
            resource = resources.get(lookup.kind)
            if resource is None:
                return None  # not a kind the cluster serves to us: nothing to confirm against
            items = _answer(api, resource, lookup, deadline, clock)
            found += [inventory_resource(item, resource) for item in items]
    except (ApiError, Unreachable):
        return None
    return found


def _answer(
    api: KubeApi, resource: ApiResource, lookup: Lookup, deadline: float, clock: Callable[[], float]
) -> list[Body]:
    if lookup.name is not None:
        found = api.get(resource, lookup.namespace, lookup.name, timeout=_remaining(deadline, clock))
        return [found] if found is not None else []
    items: list[Body] = []
    continue_token = None
    while True:
        page = api.list_page(
            resource,
            namespace=lookup.namespace or None,
            limit=500,
            continue_token=continue_token,
            timeout=_remaining(deadline, clock),
        )
        items += page.items
        continue_token = page.continue_token
        if continue_token is None:
            return items


def _remaining(deadline: float, clock: Callable[[], float]) -> float:
    remaining = deadline - clock()
    if remaining <= 0:
        raise Unreachable("no answer before the confirmation deadline")
    return remaining
