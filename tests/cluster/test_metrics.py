"""The live inventory's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from tests.cluster import objects as o
from tests.cluster.fakeapi import FakeApi
from tests.polling import wait_for
from webhook.cluster import LiveSource


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_objects_ages_and_restarts(fake: FakeApi, live: LiveSource, registry: CollectorRegistry) -> None:
    fake.put(o.service("reviews"))
    fake.put(o.service("ratings"))
    wait_for(lambda: value(registry, "meshwarden_inventory_objects", kind="Service") == 2, "two Services")
    assert value(registry, "meshwarden_inventory_objects", kind="Gateway") == 0

    age = value(registry, "meshwarden_inventory_last_event_age_seconds", kind="Service")
    assert age is not None and 0 <= age < 5

    wait_for(lambda: fake.watching("services") == 1, "the services watch")
    fake.drop_watches()
    wait_for(
        lambda: (
            (
                value(registry, "meshwarden_inventory_watch_restarts_total", kind="Service", reason="error")
                or 0
            )
            >= 1
        ),
        "the restart to be counted",
    )
    assert value(registry, "meshwarden_inventory_watch_restarts_total", kind="Service", reason="expired") == 0

    names = {metric.name for metric in registry.collect()}
    assert "meshwarden_inventory_confirmations" not in names, "confirmations are counted once, by the server"


def test_stopping_unregisters_the_metrics(live: LiveSource, registry: CollectorRegistry) -> None:
    assert value(registry, "meshwarden_inventory_objects", kind="Namespace") is not None
    live.stop()
    assert value(registry, "meshwarden_inventory_objects", kind="Namespace") is None


def test_the_gateway_apis_gateways_are_counted_apart_from_istios(
    fake: FakeApi, live: LiveSource, registry: CollectorRegistry
) -> None:
    gateway_api = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "gatewayClassName": "istio",
            "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}],
        },
    }
    fake.put(gateway_api)
    fake.put(o.gateway("web", "shop"))
    fake.put(o.gateway("api", "shop"))
    objects = "meshwarden_inventory_objects"
    wait_for(lambda: value(registry, objects, kind="Gateway") == 2, "the Istio Gateways")
    wait_for(lambda: value(registry, objects, kind="Gateway.gateway.networking.k8s.io") == 1, "the other")
    samples = [s for m in registry.collect() if m.name == objects for s in m.samples]
    assert len(samples) == len({tuple(sorted(s.labels.items())) for s in samples}), "one series per kind"
