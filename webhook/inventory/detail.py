"""How much of an object the inventory keeps: the detail the rules declare they read.

The live inventory keeps each kind at the highest detail any rule declares for it, so that a pod,
by far the most numerous kind, costs its metadata and its container ports, not its whole spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Any

from webhook.model import as_dict, as_list

Fields = dict[str, Any] | list[Any] | None
"""The fields kept of a value: None keeps all of it; a dict, the listed keys (each with its own
Fields); a one-element list, those Fields of every element of a list."""


class Detail(IntEnum):
    """Ordered: each detail keeps what the one before it keeps."""

    METADATA = 1
    """apiVersion, kind and metadata: names, labels, annotations, owners."""
    PORTS = 2
    """Also the containers' ports (a Service's named targetPort resolves through them)."""
    SPEC = 3
    """The whole object."""

    def __str__(self) -> str:
        return self.name.lower()


METADATA_FIELDS: dict[str, Any] = {"apiVersion": None, "kind": None, "metadata": None}
KEPT: Mapping[Detail, Fields] = {
    Detail.METADATA: METADATA_FIELDS,
    Detail.PORTS: {**METADATA_FIELDS, "spec": {"containers": [{"ports": None}]}},
    Detail.SPEC: None,
}


def slim(body: dict[str, Any], detail: Detail) -> dict[str, Any]:
    """What the inventory keeps of `body` at `detail` (the body itself at SPEC)."""
    return as_dict(keep(body, KEPT[detail]))


def keep(value: Any, fields: Fields) -> Any:
    if fields is None:
        return value
    if isinstance(fields, list):
        return [keep(item, fields[0]) for item in as_list(value)]
    node = as_dict(value)
    kept = {}
    for key, sub in fields.items():  # not a comprehension, a call of its own: every object read comes here
        if key in node:
            kept[key] = node[key] if sub is None else keep(node[key], sub)
    return kept
