"""Which version of each kind the cluster serves: the newest of the kind's candidate versions."""

from __future__ import annotations

from collections.abc import Iterable

from webhook.cluster.api import KubeApi, Timeout
from webhook.cluster.resources import ApiResource, KindSpec
from webhook.model import GroupKind


def resolve(
    api: KubeApi, specs: Iterable[KindSpec], *, timeout: Timeout = None
) -> dict[GroupKind, ApiResource]:
    """The served resource of each kind; a kind the cluster does not serve (no CRD) is left out."""
    served: dict[tuple[str, str], set[str]] = {}
    resolved: dict[GroupKind, ApiResource] = {}
    for spec in specs:
        for version in spec.versions:
            key = (spec.group, version)
            if key not in served:
                served[key] = api.served_plurals(spec.group, version, timeout=timeout)
            if spec.plural in served[key]:
                resolved[spec.group_kind] = spec.at(version)
                break
    return resolved
