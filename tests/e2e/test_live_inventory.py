"""The server watching a cluster: the real server process (gunicorn, TLS) with `--kubeconfig`, and
the tests' fake Kubernetes API in this process, answering the real client library."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.cluster import objects as o
from tests.cluster.fakeapi import FakeApi
from tests.e2e.harness import Certs, Connection, Reply, Server, send, start_server
from tests.e2e.reviews import review
from tests.polling import wait_for

STALE_AFTER = 0.5
"""Seconds of failing watches before the server skips cross rules (default 30)."""

SKIPPED = "cross-object checks skipped"
KINDS = (
    "Namespace",
    "Service",
    "Pod",
    "Gateway",
    "VirtualService",
    "DestinationRule",
    "ServiceEntry",
    "PeerAuthentication",
)
VS = o.virtual_service("reviews", host="bookinfo.example.com", gateways=["bookinfo-gateway"])


@pytest.fixture
def fake() -> Iterator[FakeApi]:
    api = FakeApi().start()
    api.put(o.namespace("default"))
    api.put(o.namespace("istio-system"))
    yield api
    api.stop()


@pytest.fixture
def launch(certs: Certs, fake: FakeApi, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Starts `meshwarden serve` watching `fake` through a kubeconfig; stops it after the test."""
    servers: list[Server] = []

    def start(*, wait: bool = True) -> Server:
        kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")
        args = ["--kubeconfig", str(kubeconfig), "--kube-context", "fake", "--stale-after", str(STALE_AFTER)]
        servers.append(start_server(certs, tmp_path / "server.log", args, wait=wait))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def server(launch: Callable[..., Server]) -> Server:
    """A server whose inventory has completed its first sync (it reports ready)."""
    return launch()


def metric(server: Server, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(server.metrics()):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None


def gateways(server: Server) -> float | None:
    return metric(server, "meshwarden_inventory_objects", kind="Gateway")


def confirmations(server: Server, result: str) -> float:
    return metric(server, "meshwarden_absence_confirmations_total", result=result) or 0


def check(server: Server, obj: dict[str, Any]) -> Reply:
    reply = server.review(review(obj))
    assert reply.status == 200, reply.raw
    return reply


def mentions(reply: Reply, text: str) -> bool:
    response = reply.response
    return any(text in line for line in [response.get("status", {}).get("message", ""), *warnings(reply)])


def warnings(reply: Reply) -> list[str]:
    return list(reply.response.get("warnings", []))


def listening(connection: Connection) -> bool:
    try:
        send(connection, "GET", "/healthz")
    except OSError:
        connection.close()
        return False
    return True


def test_readyz_fails_until_the_first_sync_and_the_start_up_log_names_the_live_inventory(
    fake: FakeApi, launch: Callable[..., Server]
) -> None:
    with fake.hold_lists():
        server = launch(wait=False)
        wait_for(lambda: fake.lists_held() > 0, "the server's first list, held by the fake API")
        probe = server.connect()
        try:
            wait_for(lambda: listening(probe), "the server to listen")
            not_ready = send(probe, "GET", "/readyz")
        finally:
            probe.close()
        assert not_ready.status == 503
        assert not_ready.json == {"ready": False, "reason": "the inventory's first sync is not done"}
    server.wait_ready()

    counts = {kind: metric(server, "meshwarden_inventory_objects", kind=kind) for kind in KINDS}
    assert counts == {kind: 2 if kind == "Namespace" else 0 for kind in KINDS}
    age = metric(server, "meshwarden_inventory_last_event_age_seconds", kind="Gateway")
    assert age is not None and 0 <= age < 60
    lines = server.log_lines()
    [choice] = [line for line in lines if line.get("inventory")]
    assert choice["inventory"] == "live"
    assert choice["message"].startswith("inventory: the live cluster through kubeconfig ")
    assert (choice["workers"], choice["threads"]) == (1, 16)
    assert len([line for line in lines if "Booting worker" in line.get("message", "")]) == 1


def test_a_gateway_created_a_moment_earlier_is_found_then_its_deletion_denies_with_the_fix(
    fake: FakeApi, server: Server
) -> None:
    fake.put(o.gateway("bookinfo-gateway", "istio-system", host="bookinfo.example.com"))
    wait_for(lambda: gateways(server) == 1, "the server to see the istio-system Gateway")

    with fake.pause_events():  # `kubectl apply -f dir/`: the review comes before the watch event
        fake.put(o.gateway("bookinfo-gateway", "default", host="bookinfo.example.com"))
        assert gateways(server) == 1, "the watch event must still be held back"
        reply = check(server, VS)
    assert reply.response["allowed"] is True, reply.response
    assert not mentions(reply, "MW301")
    assert confirmations(server, "found") == 1
    assert gateways(server) == 2, "the direct read adds what it found to the inventory"

    fake.delete("Gateway", "default", "bookinfo-gateway")
    wait_for(lambda: gateways(server) == 1, "the deletion to reach the server")
    reply = check(server, VS)
    assert reply.response["allowed"] is False
    message = reply.response["status"]["message"]
    assert "- MW301 " in message and " at spec.gateways[0]: " in message, message
    assert 'use "istio-system/bookinfo-gateway"' in message, message
    assert confirmations(server, "absent") == 1


def test_api_down_skips_cross_checks_with_one_warning_while_other_rules_still_deny(
    fake: FakeApi, server: Server
) -> None:
    broken = o.virtual_service("reviews", host="bookinfo.example.com", gateways=["nowhere"])
    broken["spec"]["http"][0]["timeout"] = "10x"
    assert mentions(check(server, broken), "MW301"), "while the API is up, the missing Gateway is found"

    fake.down()
    wait_for(lambda: mentions(check(server, broken), SKIPPED), "the server to skip cross checks")

    reply = check(server, broken)
    assert reply.response["allowed"] is False
    message = reply.response["status"]["message"]
    assert "- MW309 " in message, message
    assert not mentions(reply, "MW301")
    [skipped] = [w for w in warnings(reply) if SKIPPED in w]
    assert skipped.startswith(f"{SKIPPED}: the cluster inventory is stale"), skipped


def test_a_watch_broken_by_410_gone_relists_without_losing_an_object(fake: FakeApi, server: Server) -> None:
    fake.put(o.gateway("bookinfo-gateway", "istio-system"))
    fake.put(o.gateway("retired-gateway", "istio-system"))
    wait_for(lambda: gateways(server) == 2, "the server to see both Gateways")
    wait_for(lambda: fake.watching("gateways.networking.istio.io") == 1, "the server's Gateway watch")

    with fake.pause_events():  # changes the open watches never deliver
        fake.put(o.gateway("late-gateway", "istio-system"))
        fake.put(o.gateway("later-gateway", "istio-system"))
        fake.delete("Gateway", "istio-system", "retired-gateway")
        fake.compact()
        fake.drop_watches()
    # Resumed watches get 410 Gone (their version was compacted away), so only a relist can
    # bring the Gateway count to 3: two added, one deleted.
    wait_for(lambda: gateways(server) == 3, "the relist")
    expired = metric(server, "meshwarden_inventory_watch_restarts_total", kind="Gateway", reason="expired")
    broken = metric(server, "meshwarden_inventory_watch_restarts_total", kind="Gateway", reason="error")
    assert (expired, broken) == (1, 1)

    uses_all = o.virtual_service(
        "reviews",
        host="bookinfo.example.com",
        gateways=[f"istio-system/{name}" for name in ("bookinfo-gateway", "late-gateway", "later-gateway")],
    )
    reply = check(server, uses_all)
    assert reply.response["allowed"] is True, reply.response
    assert not mentions(reply, "MW301")
    assert [confirmations(server, r) for r in ("found", "absent", "unavailable")] == [0, 0, 0], (
        "every Gateway came from the inventory, none from a direct read"
    )
    uses_retired = o.virtual_service(
        "ratings", host="ratings.example.com", gateways=["istio-system/retired-gateway"]
    )
    assert check(server, uses_retired).response["allowed"] is False
