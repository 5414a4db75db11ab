"""The live inventory against the fake API server, through the real client library."""

from __future__ import annotations

from collections.abc import Callable

from tests.cluster import objects as o
from tests.cluster.fakeapi import FakeApi
from tests.polling import wait_for
from webhook.cluster import LiveSource
from webhook.cluster.api import METADATA_LIST, METADATA_OBJECT
from webhook.cluster.reflector import Reflector
from webhook.kinds import GATEWAY, NAMESPACE, POD, SERVICE, VIRTUAL_SERVICE


def populate(fake: FakeApi) -> None:
    fake.put(o.namespace("default", **{"istio-injection": "enabled"}))
    fake.put(o.namespace("istio-system"))
    for name in ("reviews", "ratings", "details", "productpage", "mongodb"):
        fake.put(o.service(name))
        fake.put(o.pod(f"{name}-v1-abc12", app=name, version="v1"))
    fake.put(o.pod("istio-ingressgateway-5c9f", "istio-system", istio="ingressgateway"))
    fake.put(o.gateway("bookinfo-gateway"))
    fake.put(o.virtual_service("reviews"))
    fake.put(o.peer_authentication())


def reflector(live: LiveSource, kind: str) -> Reflector:
    return next(r for r in live.reflectors if r.resource.kind == kind)


def test_ready_only_after_every_kind_is_listed(fake: FakeApi, start_live: Callable[[], LiveSource]) -> None:
    populate(fake)
    with fake.hold_lists():
        live = start_live()
        wait_for(lambda: fake.lists_held() > 0, "a list request held by the fake")
        assert not live.ready()
        assert live.current().complete is False
        assert "not synced yet" in (live.unavailable_reason() or "")

    wait_for(live.ready, "the first sync")
    world = live.current()
    assert world.complete is True
    inventory = world.inventory
    assert live.unavailable_reason() is None
    assert [s.name for s in inventory.services_for_host("reviews.default.svc.cluster.local")] == ["reviews"]
    assert inventory.get(GATEWAY, "istio-system", "bookinfo-gateway") is not None
    assert inventory.namespace_labels("default") == {"istio-injection": "enabled"}
    assert [p.owner.name for p in inventory.pods_matching({"istio": "ingressgateway"})] == [
        "istio-ingressgateway-5c9f"
    ]
    assert [pa.name for pa in inventory.peer_authentications("istio-system")] == ["default"]
    continued = [r for r in fake.requests if r.path == "/api/v1/services" and "continue" in r.query]
    assert continued, "five Services in pages of two need continue tokens"


def test_pods_are_kept_as_their_metadata_and_container_ports(
    fake: FakeApi, start_live: Callable[[], LiveSource]
) -> None:
    populate(fake)
    live = start_live()
    wait_for(live.ready, "the first sync")
    https = {"name": "https", "containerPort": 8443, "protocol": "TCP"}
    fake.put(o.pod("late-pod", ports=(https,), app="reviews"))
    wait_for(lambda: live.inventory.get(POD, "default", "late-pod"), "the new pod")

    pods = {p.name: p.body for p in live.inventory.of_kind(POD)}
    assert len(pods) == 7
    assert all(set(p) == {"apiVersion", "kind", "metadata", "spec"} for p in pods.values())
    assert all(p["kind"] == "Pod" and p["apiVersion"] == "v1" for p in pods.values())
    assert pods["late-pod"]["spec"] == {"containers": [{"ports": [https]}]}
    assert pods["reviews-v1-abc12"]["spec"] == {"containers": [{}]}


def test_kinds_whose_metadata_is_enough_arrive_as_metadata_only(
    fake: FakeApi, start_live: Callable[[], LiveSource]
) -> None:
    populate(fake)
    live = start_live()
    wait_for(live.ready, "the first sync")
    fake.put(o.namespace("late"))
    wait_for(lambda: live.inventory.namespace_labels("late") is not None, "the new namespace")

    assert all(set(n.body) == {"apiVersion", "kind", "metadata"} for n in live.inventory.of_kind(NAMESPACE))
    requests = [r for r in fake.requests if r.path == "/api/v1/namespaces"]
    assert {r.accept for r in requests if "watch" in r.query} == {METADATA_OBJECT}
    assert {r.accept for r in requests if "watch" not in r.query} == {METADATA_LIST}


def test_additions_changes_and_deletions_reach_the_inventory(fake: FakeApi, live: LiveSource) -> None:
    inventory = live.inventory
    fake.put(o.service("reviews"))
    fake.put(o.virtual_service("reviews", gateways=["bookinfo-gateway"]))
    wait_for(lambda: inventory.get(VIRTUAL_SERVICE, "default", "reviews"), "the VirtualService")
    wait_for(lambda: inventory.get(SERVICE, "default", "reviews"), "the Service")

    fake.put(o.virtual_service("reviews", host="reviews.example.com"))
    wait_for(
        lambda: inventory.virtual_services_for_host("reviews.example.com"), "the modified VirtualService"
    )
    assert inventory.virtual_services_for_host("reviews.default.svc.cluster.local") == []

    fake.delete("Service", "default", "reviews")
    wait_for(lambda: inventory.get(SERVICE, "default", "reviews") is None, "the deletion")
    assert inventory.services_for_host("reviews.default.svc.cluster.local") == []


def test_cached_copies_leave_out_managed_fields_and_last_applied(fake: FakeApi, live: LiveSource) -> None:
    fake.put(o.service("reviews"))
    wait_for(lambda: live.inventory.get(SERVICE, "default", "reviews"), "the Service")
    cached = live.inventory.get(SERVICE, "default", "reviews")
    assert cached is not None
    assert "managedFields" not in cached.metadata
    assert cached.annotations == {}
    assert cached.spec["selector"] == {"app": "reviews"}


def test_a_bookmark_moves_the_resource_version_so_a_resumed_watch_needs_no_relist(
    fake: FakeApi, live: LiveSource
) -> None:
    services = reflector(live, "Service")
    wait_for(lambda: fake.watching("services") == 1, "the services watch")
    for name in ("a", "b", "c"):
        fake.put(o.namespace(name))  # other kinds move the cluster's resourceVersion on
    before = services.resource_version

    fake.bookmark()
    wait_for(lambda: services.resource_version == str(fake.resource_version), "the bookmark")
    assert services.resource_version != before

    lists = len([r for r in fake.requests if r.path == "/api/v1/services" and "watch" not in r.query])
    fake.compact()
    fake.drop_watches()
    fake.put(o.service("after-reconnect"))
    wait_for(lambda: live.inventory.get(SERVICE, "default", "after-reconnect"), "the resumed watch")
    assert services.restarts["expired"] == 0
    assert len([r for r in fake.requests if r.path == "/api/v1/services" and "watch" not in r.query]) == lists


def test_410_gone_relists_without_losing_an_object(
    fake: FakeApi, start_live: Callable[..., LiveSource]
) -> None:
    for i in range(10):
        fake.put(o.service(f"svc-{i}"))
    live = start_live()
    wait_for(live.ready, "the first sync")
    services = reflector(live, "Service")
    listed = sorted(s.name for s in live.inventory.of_kind(SERVICE))

    with fake.hold_lists():
        with fake.pause_events():
            fake.delete("Service", "default", "svc-0")
            fake.put(o.service("svc-1", port=8080))
            fake.put(o.service("svc-new"))
            fake.compact()
            fake.drop_watches()
        wait_for(lambda: services.restarts["expired"] >= 1, "the 410 Gone")
        wait_for(lambda: fake.lists_held() == len(live.reflectors), "every kind's relist")
        assert sorted(s.name for s in live.inventory.of_kind(SERVICE)) == listed, "kept while relisting"
    wait_for(lambda: live.inventory.get(SERVICE, "default", "svc-0") is None, "the relist to finish")

    names = sorted(s.name for s in live.inventory.of_kind(SERVICE))
    assert names == sorted([f"svc-{i}" for i in range(1, 10)] + ["svc-new"])
    svc1 = live.inventory.get(SERVICE, "default", "svc-1")
    assert svc1 is not None and svc1.spec["ports"][0]["port"] == 8080


def test_a_dropped_watch_reconnects(fake: FakeApi, live: LiveSource) -> None:
    services = reflector(live, "Service")
    wait_for(lambda: fake.watching("services") == 1, "the services watch")
    fake.drop_watches()
    wait_for(lambda: services.restarts["error"] >= 1, "the broken watch to be noticed")
    fake.put(o.service("reviews"))
    wait_for(lambda: live.inventory.get(SERVICE, "default", "reviews"), "the reconnected watch")
    assert live.ready()


def test_api_down_skips_cross_rules_with_the_reason_then_recovers(fake: FakeApi, live: LiveSource) -> None:
    fake.down()
    wait_for(lambda: live.unavailable_reason() is not None, "the view to turn stale")
    reason = live.unavailable_reason() or ""
    assert reason.startswith("cross-object checks skipped: the cluster inventory is stale")
    assert live.current().complete is False
    assert live.ready(), "a stale view keeps serving: only cross rules are skipped"

    fake.put(o.service("made-while-down"))
    fake.up()
    wait_for(lambda: live.unavailable_reason() is None, "the watches to recover")
    wait_for(lambda: live.inventory.get(SERVICE, "default", "made-while-down"), "the missed event")
    assert live.current().complete is True


def test_api_unreachable_from_the_start_is_not_ready(
    fake: FakeApi, start_live: Callable[[], LiveSource]
) -> None:
    fake.down()
    live = start_live()
    wait_for(lambda: "refused" in (live.unavailable_reason() or ""), "discovery to fail")
    assert not live.ready()
    assert "not synced yet" in (live.unavailable_reason() or "")
    fake.up()
    wait_for(live.ready, "the first sync once the API answers")
