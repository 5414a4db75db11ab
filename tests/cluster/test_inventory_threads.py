"""The shared Inventory read by request threads while a watch thread writes it."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

from tests.cluster import objects as o
from webhook.inventory import Inventory
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
