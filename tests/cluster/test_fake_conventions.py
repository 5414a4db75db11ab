"""The fake API server answers in the shapes the official client's own typed API decodes, so the
tests of webhook.cluster run against the conventions of a real kube-apiserver."""

from __future__ import annotations

from pathlib import Path

from kubernetes import client, config, watch

from tests.cluster import objects as o
from tests.cluster.fakeapi import FakeApi


def typed_client(fake: FakeApi, tmp_path: Path) -> client.ApiClient:
    configuration = client.Configuration()
    config.load_kube_config(str(fake.write_kubeconfig(tmp_path / "kubeconfig")), "fake", configuration)
    return client.ApiClient(configuration)


def test_lists_and_gets_decode_into_the_client_models(fake: FakeApi, tmp_path: Path) -> None:
    fake.put(o.service("reviews"))
    fake.put(o.pod("reviews-v1", app="reviews"))
    with typed_client(fake, tmp_path) as api:
        core = client.CoreV1Api(api)
        services = core.list_namespaced_service("default", limit=1)
        assert [s.metadata and s.metadata.name for s in services.items] == ["reviews"]
        assert services.metadata and services.metadata.resource_version == str(fake.resource_version)
        pod = core.read_namespaced_pod("reviews-v1", "default")
        assert pod.spec and pod.spec.containers[0].image == "example/app:1"
        gateways = client.CustomObjectsApi(api).list_namespaced_custom_object(
            "networking.istio.io", "v1", "istio-system", "gateways"
        )
        assert gateways == {
            "kind": "GatewayList",
            "apiVersion": "networking.istio.io/v1",
            "metadata": {"resourceVersion": str(fake.resource_version)},
            "items": [],
        }


def test_the_client_watch_helper_reads_the_fake_stream(fake: FakeApi, tmp_path: Path) -> None:
    fake.put(o.service("reviews"))
    since = str(fake.resource_version)
    fake.put(o.service("ratings"))
    fake.delete("Service", "default", "reviews")
    with typed_client(fake, tmp_path) as api:
        core = client.CoreV1Api(api)
        events = watch.Watch().stream(
            core.list_namespaced_service, "default", resource_version=since, timeout_seconds=1
        )
        seen = [(e["type"], e["object"].metadata.name) for e in events]
    assert seen == [("ADDED", "ratings"), ("DELETED", "reviews")]
