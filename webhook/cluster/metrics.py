"""Prometheus metrics of the live inventory, computed when scraped.

A custom collector rather than metric objects updated on every event: ages must be measured at
scrape time, and a collector stays correct whichever registry the server exposes (also the one
it builds for prometheus-client's multiprocess mode).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from webhook.cluster.reflector import Reflector
from webhook.inventory import InventoryView
from webhook.rules import CATALOGUE


class Watched(Protocol):
    """What the collector reports on: the live source's reflectors and its inventory."""

    @property
    def reflectors(self) -> Sequence[Reflector]: ...

    @property
    def inventory(self) -> InventoryView: ...

    @property
    def clock(self) -> Callable[[], float]: ...


class InventoryCollector(Collector):
    def __init__(self, source: Watched):
        self._source = source

    def collect(self) -> Iterator[Metric]:
        source = self._source
        now = source.clock()
        objects = GaugeMetricFamily(
            "meshwarden_inventory_objects",
            "Objects in the live inventory, by kind (`Kind.group` beside a checked kind of that name).",
            labels=["kind"],
        )
        age = GaugeMetricFamily(
            "meshwarden_inventory_last_event_age_seconds",
            "Seconds since the last list or watch event (bookmarks included) of each kind's watch.",
            labels=["kind"],
        )
        restarts = CounterMetricFamily(
            "meshwarden_inventory_watch_restarts",
            "Watches restarted: after an error (reason=error) or a 410 Gone relist (reason=expired).",
            labels=["kind", "reason"],
        )
        for reflector in list(source.reflectors):
            kind = CATALOGUE.name_of(reflector.resource.group_kind)
            objects.add_metric([kind], len(source.inventory.of_kind(reflector.resource.group_kind)))
            if reflector.last_event is not None:
                age.add_metric([kind], now - reflector.last_event)
            for reason in ("error", "expired"):
                restarts.add_metric([kind, reason], reflector.restarts[reason])
        yield from (objects, age, restarts)
