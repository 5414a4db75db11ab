"""The one-shot readers behind `check --cluster` and `audit`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster import objects as o
from tests.cluster.fakeapi import FakeApi
from webhook.cluster import KubeApi, Unreadable, audit_objects, audit_resources, load_inventory, open_api
from webhook.cluster.resources import AUDIT_KINDS, ApiResource
from webhook.kinds import DEPLOYMENT, GATEWAY, POD, SERVICE, VIRTUAL_SERVICE
from webhook.model import GroupKind
from webhook.rules import CATALOGUE


@pytest.fixture
def api_for(tmp_path: Path) -> Iterator[Callable[[FakeApi], KubeApi]]:
    """Opens the API of a fake, through a kubeconfig's context; closes it after the test."""
    opened: list[KubeApi] = []

    def open_for(fake: FakeApi) -> KubeApi:
        kubeconfig = fake.write_kubeconfig(tmp_path / f"kubeconfig-{fake.port}")
        opened.append(open_api(str(kubeconfig), "fake"))
        return opened[-1]

    yield open_for
    for api in opened:
        api.close()


def test_every_kind_a_rule_covers_maps_to_an_api_resource() -> None:
    assert CATALOGUE.kinds <= AUDIT_KINDS.keys()


def test_audit_reads_whole_objects_page_by_page_with_progress(
    fake: FakeApi, api_for: Callable[[FakeApi], KubeApi]
) -> None:
    for i in range(3):
        fake.put(o.pod(f"web-{i}", app="web"))
    fake.put(o.deployment("web"))
    fake.put(o.service("web"))
    fake.put(o.virtual_service("web"))
    api = api_for(fake)
    progress: list[tuple[str, int, int | None]] = []

    resources, unserved = audit_resources(api, [POD, DEPLOYMENT, SERVICE, VIRTUAL_SERVICE, GATEWAY])
    unreadable: list[Unreadable] = []
    objects = list(
        audit_objects(
            api,
            resources,
            unreadable=unreadable,
            page_size=2,
            progress=lambda r, done, total: progress.append((r.plural, done, total)),
        )
    )

    assert unserved == [] and unreadable == []
    assert sorted((r.kind, r.name) for r in objects) == [
        ("Deployment", "web"),
        ("Pod", "web-0"),
        ("Pod", "web-1"),
        ("Pod", "web-2"),
        ("Service", "web"),
        ("VirtualService", "web"),
    ]
    pods = [r for r in objects if r.kind == "Pod"]
    assert all(p.spec["containers"] and p.body["apiVersion"] == "v1" for p in pods), (
        "whole pods, kind filled in"
    )
    assert [p for p in progress if p[0] == "pods"] == [("pods", 2, 3), ("pods", 3, 3)]
    assert ("gateways", 0, 0) in progress


def test_audit_names_the_kinds_the_cluster_does_not_serve(
    make_fake: Callable[..., FakeApi], api_for: Callable[[FakeApi], KubeApi]
) -> None:
    api = api_for(make_fake(istio_versions=()))
    resources, unserved = audit_resources(api, [SERVICE, VIRTUAL_SERVICE])
    assert [r.kind for r in resources] == ["Service"]
    assert unserved == [VIRTUAL_SERVICE]


def test_audit_refuses_a_kind_it_cannot_map(fake: FakeApi, api_for: Callable[[FakeApi], KubeApi]) -> None:
    with pytest.raises(ValueError, match="Frobnicator"):
        audit_resources(api_for(fake), [SERVICE, GroupKind("example.com", "Frobnicator")])


def test_istio_kinds_are_read_in_the_newest_version_served(
    make_fake: Callable[..., FakeApi], api_for: Callable[[FakeApi], KubeApi]
) -> None:
    fake = make_fake(istio_versions=("v1beta1", "v1alpha3"))
    fake.put(o.gateway("bookinfo-gateway"))
    api = api_for(fake)
    resources, _ = audit_resources(api, [GATEWAY, VIRTUAL_SERVICE])
    assert {r.version for r in resources} == {"v1beta1"}
    (gateway,) = audit_objects(api, [r for r in resources if r.kind == "Gateway"], unreadable=[])
    assert gateway.body["apiVersion"] == "networking.istio.io/v1beta1"


def test_load_inventory_lists_every_inventory_kind_once(
    fake: FakeApi, api_for: Callable[[FakeApi], KubeApi]
) -> None:
    fake.put(o.namespace("default"))
    fake.put(o.service("reviews"))
    fake.put(o.pod("reviews-v1", app="reviews", version="v1"))
    fake.put(o.gateway("bookinfo-gateway"))
    seen: list[ApiResource] = []

    inventory = load_inventory(api_for(fake), unreadable=[], progress=lambda r, done, total: seen.append(r))

    assert len(inventory) == 4
    assert inventory.pods_matching({"app": "reviews"})
    assert {r.kind for r in seen} == {
        "Namespace",
        "Service",
        "Pod",
        "Gateway",
        "VirtualService",
        "DestinationRule",
        "ServiceEntry",
        "PeerAuthentication",
        "IngressClass",
    }


def role_without(*plurals: str) -> list[dict[str, Any]]:
    """Read access to every kind the fake serves but these."""
    kept = [k for k in FakeApi().kinds if k.plural not in plurals]
    return [
        {"apiGroups": [k.group], "resources": [k.plural], "verbs": ["get", "list", "watch"]} for k in kept
    ]


def test_kinds_the_credentials_may_not_list_are_skipped_and_named(
    make_fake: Callable[..., FakeApi], api_for: Callable[[FakeApi], KubeApi]
) -> None:
    fake = make_fake(role=role_without("deployments", "destinationrules"))
    fake.put(o.deployment("web"))
    fake.put(o.service("web"))
    fake.put(o.virtual_service("web"))
    api = api_for(fake)
    unreadable: list[Unreadable] = []

    inventory = load_inventory(api, unreadable=unreadable)
    resources, _ = audit_resources(api, [DEPLOYMENT, SERVICE, VIRTUAL_SERVICE])
    objects = list(audit_objects(api, resources, unreadable=unreadable))

    assert sorted((r.kind, r.name) for r in objects) == [("Service", "web"), ("VirtualService", "web")]
    assert len(inventory) == 2
    assert [(u.resource.name, u.reason) for u in unreadable] == [
        (
            "destinationrules.networking.istio.io",
            '403 Forbidden: destinationrules.networking.istio.io is forbidden: User "system:serviceaccount:'
            'meshwarden:meshwarden" cannot list resource "destinationrules" in API group '
            '"networking.istio.io" at the cluster scope',
        ),
        (
            "deployments.apps",
            '403 Forbidden: deployments.apps is forbidden: User "system:serviceaccount:meshwarden:'
            'meshwarden" cannot list resource "deployments" in API group "apps" at the cluster scope',
        ),
    ]
