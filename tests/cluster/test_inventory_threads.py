"""The shared Inventory read by request threads while a watch thread writes it."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Mapping

import pytest

from tests.cluster import objects as o
from webhook.inventory import Inventory
from webhook.inventory.store import INDEXES
from webhook.kinds import GATEWAY, SERVICE
from webhook.kube import pod_template
from webhook.model import Resource


@pytest.fixture
def frequent_thread_switches() -> Iterator[None]:
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def test_lookups_never_fail_while_another_thread_adds_and_removes(frequent_thread_switches: None) -> None:
    inventory = Inventory()
    gateway = Resource(o.gateway("ingress"))
    inventory.add(gateway)
    ingress_pod = pod_template(Resource(o.pod("ingress-1", "istio-system", istio="ingressgateway")))
    assert ingress_pod is not None
    errors: list[BaseException] = []
    done = threading.Event()

    def write() -> None:
        for round_ in range(150):
            batch = [Resource(o.pod(f"p{round_}-{i}", app="web", istio="ingressgateway")) for i in range(20)]
            batch += [Resource(o.service(f"s{round_}-{i}", app="web")) for i in range(5)]
            batch.append(Resource(o.peer_authentication(f"pa{round_}")))
            for resource in batch:
                inventory.add(resource)
            for resource in batch:
                inventory.remove(resource.ref)
        done.set()

    def read() -> None:
        try:
            while not done.is_set():
                inventory.pods_matching({"app": "web"})
                inventory.pods_matching({})
                inventory.peer_authentications("istio-system")
                inventory.services_selecting(ingress_pod)
                inventory.gateways_selecting(ingress_pod)
                inventory.is_known_namespace("istio-system")
                inventory.named(SERVICE, "s0-0")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write)] + [threading.Thread(target=read) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert [r.name for r in inventory.of_kind(GATEWAY)] == ["ingress"]
    assert len(inventory) == 1


def test_objects_that_come_and_go_leave_nothing_behind() -> None:
    """A live inventory sees pods of ever new ReplicaSets (a new `pod-template-hash` label each) and
    Services and Gateways created and deleted: once they are gone, no index keeps a key for them."""
    inventory = Inventory()
    kept = Resource(o.service("kept", app="web"))
    inventory.add(kept)
    tables = (
        "_by_name",
        "_by_kind",
        "_pods",
        "_pods_by_label",
        "_pods_by_namespace",
        *INDEXES_BY_NAME,
    )
    baseline = {name: _keys(_table(inventory, name)) for name in tables}
    churn = [Resource(o.pod(f"web-{i}", f"ns-{i}", app="web", hash=f"h{i}")) for i in range(50)]
    churn += [Resource(o.service(f"s{i}", f"ns-{i}", app=f"a{i}")) for i in range(50)]
    churn += [Resource(o.gateway(f"g{i}", host=f"h{i}.example.com")) for i in range(50)]
    for resource in churn:
        inventory.add(resource)
    for resource in churn:
        inventory.remove(resource.ref)
    assert {name: _keys(_table(inventory, name)) for name in tables} == baseline
    assert inventory.services_for_host("kept.default.svc.cluster.local") == [kept]


INDEXES_BY_NAME = tuple(f"index {name}" for kind_indexes in INDEXES.values() for name, _ in kind_indexes)


def _table(inventory: Inventory, name: str) -> Mapping[object, object]:
    if name.startswith("index "):
        return inventory._indexes.get(name.removeprefix("index "), {})
    table: Mapping[object, object] = getattr(inventory, name)
    return table


def _keys(table: Mapping[object, object]) -> set[object]:
    """Every key of a table, and of the tables it holds, by path."""
    found: set[object] = set()
    for key, value in table.items():
        found.add(key)
        if isinstance(value, dict):
            found |= {(key, inner) for inner in _keys(value)}
    return found


def test_a_key_shared_by_objects_keeps_each_of_them_through_adds_replacements_and_removals() -> None:
    """An index keeps the one object of a key as itself and a dictionary from the second on: every
    step between the two gives the objects under the key, once each."""
    inventory = Inventory()
    first, second = (Resource(o.virtual_service(name, host="shop.example.com")) for name in ("a", "b"))
    inventory.add(first)
    inventory.add(first)
    assert inventory.virtual_services_for_host("shop.example.com") == [first]
    inventory.add(second)
    assert inventory.virtual_services_for_host("shop.example.com") == [first, second]
    inventory.remove(first.ref)
    assert inventory.virtual_services_for_host("shop.example.com") == [second]
    replaced = Resource(o.virtual_service("b", host="shop.example.com"))
    inventory.add(replaced)
    assert inventory.virtual_services_for_host("shop.example.com") == [replaced]
    inventory.remove(replaced.ref)
    assert inventory.virtual_services_for_host("shop.example.com") == []


def test_pods_matching_a_selector_with_a_label_one_pod_carries_and_one_many_carry() -> None:
    """One label's bucket holds a single pod (kept as itself), the other's several (a dictionary)."""
    inventory = Inventory()
    pods = [Resource(o.pod(f"web-{i}", app="web", version="v1" if i == 0 else "v2")) for i in range(3)]
    for pod in pods:
        inventory.add(pod)
    matching = inventory.pods_matching({"app": "web", "version": "v1"}, "default")
    assert [template.owner for template in matching] == [pods[0]]
    assert [t.owner for t in inventory.pods_matching({"app": "web", "version": "v2"})] == pods[1:]
    assert inventory.pods_matching({"app": "web", "version": "v3"}) == []
