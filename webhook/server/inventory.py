"""Where the server's inventory comes from: `--context` files, the live cluster, or nothing.

`meshwarden serve` chooses once (ServerSettings.cluster); each gunicorn worker opens its own
inventory after the fork, since the live inventory's watch threads would not survive one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from webhook.inputs import read_inputs
from webhook.inventory.kept import compactor
from webhook.inventory.source import InventorySource, StaticSource
from webhook.loader import LoadOptions
from webhook.model import Resource
from webhook.rules import CATALOGUE
from webhook.server.settings import ClusterAccess, ServerSettings

if TYPE_CHECKING:
    from prometheus_client.registry import Collector

    from webhook.cluster import LiveSource

log = logging.getLogger("meshwarden.server")


class InventoryError(ValueError):
    """An inventory the server cannot use: an unreadable `--context` file, no usable cluster access."""


def load_context(paths: Sequence[str]) -> list[Resource]:
    """Objects of the `--context` files, as the inventory keeps them; any unreadable file or
    document is an error."""
    inputs = read_inputs(paths, LoadOptions(world=True, compact=compactor(CATALOGUE.inputs)))
    if inputs.errors:
        raise InventoryError("; ".join(str(e) for e in inputs.errors))
    return inputs.resources


def check_cluster_access(access: ClusterAccess) -> None:
    """Fails on a configuration no worker could use (no kubeconfig, unknown context, no service
    account), before any worker starts. Reads files only: the API may well be down at start."""
    from webhook.cluster import ClusterError, open_api  # the Kubernetes client, only when used

    try:
        open_api(access.kubeconfig, access.context).close()
    except ClusterError as exc:
        raise InventoryError(str(exc)) from None


class ServedInventory:
    """The source reviews are checked against, with its metrics and its shutdown."""

    def __init__(self, source: InventorySource, live: LiveSource | None = None):
        self.source = source
        self._live = live

    @property
    def collectors(self) -> tuple[Collector, ...]:
        return (self._live.collector,) if self._live else ()

    def stop(self) -> None:
        if self._live:
            self._live.stop()


def open_inventory(settings: ServerSettings) -> ServedInventory:
    """Call in the process that serves: a live inventory starts listing and watching at once."""
    if settings.context:
        return ServedInventory(StaticSource(load_context(settings.context), known=True))
    if settings.cluster is None:
        return ServedInventory(StaticSource())
    from webhook.cluster import LiveSettings, connect

    access = settings.cluster
    live = connect(
        access.kubeconfig,
        access.context,
        settings=LiveSettings(stale_after=access.stale_after),
        registry=None,  # the server's Metrics exposes `collector`, also in multiprocess mode
    )
    return ServedInventory(live, live)


def log_inventory_choice(settings: ServerSettings) -> None:
    """One start-up line saying where cross-object rules get their world from."""
    fields: dict[str, object] = {"workers": settings.workers, "threads": settings.threads}
    if settings.context:
        fields.update(inventory="context", context=list(settings.context))
        log.info("inventory: the --context files, fixed for the server's lifetime", extra={"fields": fields})
        return
    if settings.cluster is None:
        fields["inventory"] = "none"
        log.warning(
            "no inventory: cross-object rules are skipped (give --context files, or run in a pod "
            "or with --kubeconfig/--kube-context for the live cluster)",
            extra={"fields": fields},
        )
        return
    fields.update(inventory="live", cluster=settings.cluster.describe())
    log.info(
        f"inventory: the live cluster through {settings.cluster.describe()}; "
        "/readyz fails until every kind is listed",
        extra={"fields": fields},
    )
    if settings.workers > 1:
        log.warning(
            f"each of the {settings.workers} workers lists and watches the cluster on its own: "
            f"{settings.workers} times the API load and the inventory's memory, and the inventory "
            "metrics on /metrics describe only the worker that answers the scrape",
            extra={"fields": fields},
        )
