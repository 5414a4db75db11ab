"""The live cluster as Meshwarden's inventory: watched for the admission server, listed once for
`check --cluster` and `audit`.

Server: `source = connect()` in the process that serves (after gunicorn's fork), `source.stop()`
at shutdown. CLI: `with open_api(kubeconfig, context) as api:` then `load_inventory(api)`, and
for the audit `audit_resources(api, CATALOGUE.kinds)` and `audit_objects(api, resources)`. A kind
the credentials may not list is skipped into the `unreadable` list each of them takes (findings
that rest on its absence are `unproven`); any other failure to read the cluster is a ClusterError.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry

from webhook.cluster.api import ApiError, ClusterError, KubeApi
from webhook.cluster.audit import audit_objects, audit_resources, unproven
from webhook.cluster.config import api_client
from webhook.cluster.live import LiveSettings, LiveSource
from webhook.cluster.snapshot import Progress, Unreadable, load_inventory


def open_api(kubeconfig: str | None = None, context: str | None = None) -> KubeApi:
    """The API of the pod's cluster (service account), or of a kubeconfig's (current) context."""
    return KubeApi(api_client(kubeconfig, context))


def connect(
    kubeconfig: str | None = None,
    context: str | None = None,
    *,
    settings: LiveSettings | None = None,
    registry: CollectorRegistry | None = REGISTRY,
) -> LiveSource:
    """A started live inventory. Not ready until every kind's first list completed."""
    return LiveSource(open_api(kubeconfig, context), settings, registry=registry).start()


__all__ = [
    "ApiError",
    "ClusterError",
    "KubeApi",
    "LiveSettings",
    "LiveSource",
    "Progress",
    "Unreadable",
    "audit_objects",
    "audit_resources",
    "connect",
    "load_inventory",
    "open_api",
    "unproven",
]
