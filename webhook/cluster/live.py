"""The live inventory: the cluster's objects kept current by watches, as an InventorySource."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from prometheus_client import CollectorRegistry

from webhook.cluster.api import ApiError, KubeApi, Unreachable
from webhook.cluster.backoff import Backoff
from webhook.cluster.confirm import read_through
from webhook.cluster.discovery import resolve
from webhook.cluster.metrics import InventoryCollector
from webhook.cluster.reflector import Reflector, WatchSettings
from webhook.cluster.resources import INVENTORY_KINDS, ApiResource
from webhook.findings import Lookup
from webhook.inventory import Inventory, World
from webhook.model import GroupKind, Resource

log = logging.getLogger(__name__)

SKIPPED = "cross-object checks skipped"


@dataclass(frozen=True)
class LiveSettings:
    stale_after: float = 30.0  # seconds a watch may stay broken before cross rules are skipped
    confirm_timeout: float = 1.0  # seconds for all the direct reads of one confirmation
    discovery_timeout: float = 10.0
    watch: WatchSettings = field(default_factory=WatchSettings)


class LiveSource:
    """Lists and watches every inventory kind in background threads (one per kind).

    With a `registry`, its metrics (`collector`) are registered there while it runs; a server
    that builds its own registry per scrape (prometheus-client's multiprocess mode) registers
    `collector` there instead.

    Call `start()` in the process that serves requests (a gunicorn worker, after the fork: threads
    do not survive a fork) and `stop()` when it shuts down.
    """

    def __init__(
        self,
        api: KubeApi,
        settings: LiveSettings | None = None,
        *,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.inventory = Inventory()
        self.settings = settings or LiveSettings()
        self.reflectors: list[Reflector] = []
        self.clock = clock
        self.collector = InventoryCollector(self)
        self._api = api
        self._registry = registry
        self._resources: dict[GroupKind, ApiResource] = {}
        self._discovery_error = ""
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> LiveSource:
        if self._registry is not None:
            self._registry.register(self.collector)
        self._spawn("meshwarden-discovery", self._discover_and_watch)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        with self._lock:
            if self._stop.is_set():
                return
            self._stop.set()
        for reflector in self.reflectors:
            reflector.interrupt()
        for thread in self._threads:
            thread.join(timeout)
        self._api.close()
        if self._registry is not None:
            self._registry.unregister(self.collector)

    def _discover_and_watch(self) -> None:
        backoff = Backoff(self.settings.watch.backoff_base, self.settings.watch.backoff_cap)
        while not self._stop.is_set():
            try:
                self._resources = resolve(self._api, INVENTORY_KINDS, timeout=self.settings.discovery_timeout)
                self._discovery_error = ""
                break
            except (ApiError, Unreachable) as error:
                self._discovery_error = f"API discovery failed: {error}"
                log.warning("%s", self._discovery_error)
                self._stop.wait(backoff.next())
        for spec in INVENTORY_KINDS:
            if spec.group_kind not in self._resources:
                log.warning("the cluster serves no %s (%s): none can exist", spec.kind, spec.group)
        reflectors = [
            Reflector(self._api, resource, self.inventory, self.settings.watch, self.clock)
            for resource in self._resources.values()
        ]
        with self._lock:  # stop() either sees these threads or they never start
            if self._stop.is_set():
                return
            self.reflectors = reflectors
            for reflector in reflectors:
                self._spawn(
                    f"meshwarden-watch-{reflector.resource.plural}", partial(reflector.run, self._stop)
                )

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    # --- InventorySource -------------------------------------------------------------------------

    def ready(self) -> bool:
        return bool(self.reflectors) and all(r.synced.is_set() for r in self.reflectors)

    def unavailable_reason(self) -> str | None:
        if not self.ready():
            return f"{SKIPPED}: the cluster inventory is not synced yet ({self._sync_progress()})"
        now = self.clock()
        broken = [
            r
            for r in self.reflectors
            if r.failing_since is not None and now - r.failing_since > self.settings.stale_after
        ]
        if not broken:
            return None
        worst = min(broken, key=lambda r: r.failing_since or now)
        kinds = ", ".join(r.resource.plural for r in broken)
        return (
            f"{SKIPPED}: the cluster inventory is stale, the Kubernetes API has not answered the watch "
            f"of {kinds} for {now - (worst.failing_since or now):.0f}s ({worst.last_error})"
        )

    def _sync_progress(self) -> str:
        if not self.reflectors:
            return self._discovery_error or "discovering the API"
        waiting = [r for r in self.reflectors if not r.synced.is_set()]
        errors = [f"{r.resource.plural}: {r.last_error}" for r in waiting if r.last_error]
        listing = "listing " + ", ".join(r.resource.plural for r in waiting)
        return "; ".join([listing, *errors])

    def current(self) -> World:
        return World(self.inventory, self.unavailable_reason())

    def confirm(self, lookups: Sequence[Lookup]) -> list[Resource] | None:
        if not self.ready():
            return None
        # A kind the cluster does not serve has no objects: its absence needs no confirmation.
        unserved = {spec.group_kind for spec in INVENTORY_KINDS} - self._resources.keys()
        asked = [lookup for lookup in lookups if lookup.kind not in unserved]
        found = read_through(self._api, self._resources, asked, self.settings.confirm_timeout, self.clock)
        for resource in found or ():
            self.inventory.add(resource)
        return found
