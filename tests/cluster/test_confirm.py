"""confirm(): a direct read from the API before a cross rule denies because something is missing."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.cluster import objects as o
from tests.cluster.conftest import FAST
from tests.cluster.fakeapi import FakeApi
from tests.polling import wait_for
from webhook.cluster import LiveSource
from webhook.findings import Lookup
from webhook.kinds import GATEWAY, POD, SERVICE, VIRTUAL_SERVICE


def test_finds_an_object_created_after_the_last_watch_event(fake: FakeApi, live: LiveSource) -> None:
    with fake.pause_events():
        fake.put(o.gateway("bookinfo-gateway"))
        assert live.inventory.get(GATEWAY, "istio-system", "bookinfo-gateway") is None

        found = live.confirm([Lookup(GATEWAY, "istio-system", "bookinfo-gateway")])

        assert found is not None and [r.name for r in found] == ["bookinfo-gateway"]
        assert live.inventory.get(GATEWAY, "istio-system", "bookinfo-gateway") is not None


def test_a_lookup_of_any_name_lists_the_namespace(fake: FakeApi, live: LiveSource) -> None:
    with fake.pause_events():
        fake.put(o.pod("reviews-v2-x1", app="reviews", version="v2"))
        fake.put(o.pod("elsewhere", "other", app="reviews"))

        found = live.confirm([Lookup(POD, "default")])

    assert found is not None and [p.name for p in found] == ["reviews-v2-x1"]
    assert set(found[0].body) == {"apiVersion", "kind", "metadata", "spec"}
    assert found[0].spec == {"containers": [{}]}, "pods keep only their container ports"
    assert live.inventory.pods_matching({"app": "reviews", "version": "v2"}, "default")


def test_confirms_absence(live: LiveSource) -> None:
    assert (
        live.confirm([Lookup(GATEWAY, "istio-system", "nowhere"), Lookup(VIRTUAL_SERVICE, "default")]) == []
    )


def test_a_slow_api_leaves_it_unconfirmed_within_the_deadline(fake: FakeApi, live: LiveSource) -> None:
    fake.delay = 5.0
    started = time.monotonic()
    found = live.confirm([Lookup(GATEWAY, "istio-system", "bookinfo-gateway")])
    elapsed = time.monotonic() - started
    assert found is None
    assert elapsed < FAST.confirm_timeout + 1.0, "the answer would take 5 s"


def test_an_unreachable_api_leaves_it_unconfirmed(fake: FakeApi, live: LiveSource) -> None:
    fake.down()
    assert live.confirm([Lookup(SERVICE, "default", "reviews")]) is None


def test_a_kind_the_cluster_does_not_serve_is_absent(
    make_fake: Callable[..., FakeApi], start_live: Callable[..., LiveSource]
) -> None:
    live = start_live(make_fake(istio_versions=()))
    wait_for(live.ready, "the first sync")
    assert live.confirm([Lookup(GATEWAY, "istio-system", "bookinfo-gateway")]) == []
