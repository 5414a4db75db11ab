"""Keeps one kind of the inventory equal to the cluster: list, then watch from the list's version.

The scheme of client-go's reflector: a paginated list gives the objects and a resourceVersion; a
watch from that version gives every later change (and bookmarks that move the version on without
a change). When the watch ends it resumes from the last version seen; when the API answers 410
Gone (that version is compacted away), the kind is listed again. Failures are retried with
exponential backoff and jitter.
"""

from __future__ import annotations

import gc
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from webhook.cluster.api import ApiError, Gone, KubeApi, Unreachable, Watch, WatchEvent
from webhook.cluster.backoff import Backoff
from webhook.cluster.objects import inventory_resource
from webhook.cluster.resources import ApiResource
from webhook.inventory import Inventory
from webhook.model import ObjectKey, as_dict

log = logging.getLogger(__name__)

LIST_TIMEOUT = 60.0  # seconds for one page


@dataclass(frozen=True)
class WatchSettings:
    page_size: int = 500
    server_timeout: int = 300  # seconds; each watch asks for between this and twice this
    backoff_base: float = 0.5
    backoff_cap: float = 30.0


class Reflector:
    def __init__(
        self,
        api: KubeApi,
        resource: ApiResource,
        inventory: Inventory,
        settings: WatchSettings,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.resource = resource
        self.synced = threading.Event()
        self.resource_version: str | None = None
        self.last_event: float | None = None
        self.failing_since: float | None = None
        self.last_error = ""
        self.restarts: Counter[str] = Counter()
        self._api = api
        self._inventory = inventory
        self._settings = settings
        self._clock = clock
        self._watch: Watch | None = None

    def run(self, stop: threading.Event) -> None:
        backoff = Backoff(self._settings.backoff_base, self._settings.backoff_cap)
        while not stop.is_set():
            try:
                if self.resource_version is None:
                    self._relist()
                self._follow(stop)
                backoff.reset()
            except Gone:
                self.resource_version = None
                self.restarts["expired"] += 1
                log.info("watch of %s expired (410 Gone): listing again", self.resource.plural)
            except (ApiError, Unreachable) as error:
                if stop.is_set():
                    break
                self.restarts["error"] += 1
                self.last_error = str(error)
                if self.failing_since is None:
                    self.failing_since = self._clock()
                log.warning("watch of %s failed: %s", self.resource.plural, error)
                stop.wait(backoff.next())

    def interrupt(self) -> None:
        """Ends the current watch stream, so that `run` notices a stop without waiting for data."""
        watch = self._watch
        if watch is not None:
            watch.interrupt()

    def _relist(self) -> None:
        """Lists every object, then drops those the list no longer has. Objects are replaced in
        place, never cleared first, so that lookups during a relist still find them."""
        listed: set[ObjectKey] = set()
        version = ""
        for page in self._api.pages(self.resource, page_size=self._settings.page_size, timeout=LIST_TIMEOUT):
            for item in page.items:
                resource = inventory_resource(item, self.resource)
                self._inventory.add(resource)
                listed.add(resource.ref.key)
            version = page.resource_version
        for cached in self._inventory.of_kind(self.resource.group_kind):
            if cached.ref.key not in listed:
                self._inventory.remove(cached.ref)
        self.resource_version = version
        self.last_event = self._clock()
        self._healthy()
        self.synced.set()
        # The listed objects live long and hold no reference cycles (reference counting frees
        # them when replaced): out of the cyclic collector's reach, a full collection no longer
        # walks them, a pause of ~300 ms at 65,000 objects (bench/cluster_inventory.py).
        gc.freeze()

    def _follow(self, stop: threading.Event) -> None:
        """Applies watch events until the API ends the stream or `stop` is set."""
        assert self.resource_version is not None
        server_timeout = random.randint(self._settings.server_timeout, 2 * self._settings.server_timeout)
        watch = self._api.watch(self.resource, self.resource_version, server_timeout=server_timeout)
        self._watch = watch
        try:
            if stop.is_set():
                return
            self._healthy()
            for event in watch:
                self._apply(event)
        finally:
            self._watch = None
            watch.close()

    def _apply(self, event: WatchEvent) -> None:
        if event.type == "BOOKMARK":
            version = as_dict(event.object.get("metadata")).get("resourceVersion")
        else:
            resource = inventory_resource(event.object, self.resource)
            version = resource.metadata.get("resourceVersion")
            if event.type == "DELETED":
                self._inventory.remove(resource.ref)
            elif event.type in ("ADDED", "MODIFIED"):
                self._inventory.add(resource)
        if version:
            self.resource_version = str(version)
        self.last_event = self._clock()

    def _healthy(self) -> None:
        self.failing_since = None
        self.last_error = ""
