"""Every covered object already in the cluster, whole, for `meshwarden audit`.

Objects are read a page at a time and handed on, so a large cluster is never held in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from webhook.cluster.api import KubeApi
from webhook.cluster.discovery import resolve
from webhook.cluster.objects import full_resource
from webhook.cluster.resources import AUDIT_KINDS, ApiResource
from webhook.cluster.snapshot import Progress, Unreadable, read_readable
from webhook.findings import Finding
from webhook.model import GroupKind, Resource


def audit_resources(api: KubeApi, kinds: Iterable[GroupKind]) -> tuple[list[ApiResource], list[GroupKind]]:
    """The served resource of each kind (rule coverage, e.g. CATALOGUE.kinds), and the kinds left
    out because the cluster does not serve them (an Istio CRD not installed)."""
    wanted = sorted(kinds)
    unmapped = [kind for kind in wanted if kind not in AUDIT_KINDS]
    if unmapped:
        raise ValueError(f"no Kubernetes API resource is known for the kinds {', '.join(map(str, unmapped))}")
    served = resolve(api, (AUDIT_KINDS[kind] for kind in wanted))
    unserved = [kind for kind in wanted if kind not in served]
    return [served[kind] for kind in wanted if kind in served], unserved


def audit_objects(
    api: KubeApi,
    resources: Iterable[ApiResource],
    *,
    unreadable: list[Unreadable],
    progress: Progress | None = None,
    page_size: int = 500,
) -> Iterator[Resource]:
    """The objects of each resource the credentials may list; the others go to `unreadable`."""
    for resource, item in read_readable(api, resources, unreadable, page_size=page_size, progress=progress):
        yield full_resource(item, resource)


def unproven(finding: Finding, unreadable: Sequence[Unreadable]) -> bool:
    """Whether the finding rests on the absence of an object of a kind that could not be read."""
    kinds = {u.resource.group_kind for u in unreadable}
    return any(lookup.kind in kinds for lookup in finding.missing)
