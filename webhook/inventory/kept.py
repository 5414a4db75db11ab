"""What the inventory of files keeps of an object: what the live inventory keeps of its kind.

The rules declare how much of each kind they read from the inventory (their inputs); the live
inventory keeps that much (webhook.cluster.resources), and so does the inventory of files, where
a workload's pod template stands for its pods and is kept as a Pod is. Other kinds keep their
metadata: their names and kinds are all the inventory reads of them.
"""

from __future__ import annotations

import functools
import itertools
import marshal
from collections.abc import Callable, Mapping
from typing import Any

from webhook.inventory.detail import KEPT, METADATA_FIELDS, Detail, Fields, keep
from webhook.kinds import POD
from webhook.kube import TEMPLATE_PATHS
from webhook.model import GroupKind, Resource, as_dict

Compact = Callable[[Resource, bool], None]


def kept_fields(inputs: Mapping[GroupKind, Detail], kind: GroupKind) -> Fields:
    """The fields kept of an object of `kind`, given the rules' `inputs`; None: all of them."""
    detail = inputs.get(kind)
    if detail is not None:
        return KEPT[detail]
    path = TEMPLATE_PATHS.get(kind)
    if path is None:
        return METADATA_FIELDS
    pod = KEPT[inputs.get(POD, Detail.METADATA)]
    template = {k: v for k, v in pod.items() if k in ("metadata", "spec")} if isinstance(pod, dict) else pod
    kept: dict[str, Any] = {path[-1]: template}
    for key in reversed(path[:-1]):
        kept = {key: kept}
    return {**METADATA_FIELDS, **kept}


def compactor(inputs: Mapping[GroupKind, Detail], *, whole_first: int = 0) -> Compact:
    """The loader's `compact`: it keeps of each object only what the inventory reads of it, and of
    an object that rules check (`checked`) the whole body too, packed by marshal in about a fifth
    of the memory of its dictionaries, for Resource.whole(). The first `whole_first` objects it is
    given are left as read."""
    fields_of = functools.cache(functools.partial(kept_fields, inputs))
    seen = itertools.count()

    def compact(resource: Resource, checked: bool) -> None:
        if next(seen) < whole_first:
            return
        fields = fields_of(resource.group_kind)
        if fields is None:
            return
        if checked:
            resource.packed = marshal.dumps(resource.body)
        resource.body = as_dict(keep(resource.body, fields))

    return compact
