"""Certificate rotation and policy reload while traffic flows, without a restart."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.e2e.harness import (
    SERVER_NAME,
    AtomicDir,
    Certs,
    Server,
    Traffic,
    client_context,
    make_certs,
    send,
    start_server,
    wait_for,
)
from tests.e2e.reviews import bookinfo_pod, review, service

TLS_FILES = ("tls.crt", "tls.key")


def presented_certificate(server: Server, port: int) -> bytes:
    """The certificate a new connection gets, in DER."""
    with (
        socket.create_connection(("127.0.0.1", port)) as raw,
        server.context.wrap_socket(raw, server_hostname=SERVER_NAME) as tls,
    ):
        return tls.getpeercert(binary_form=True) or b""


def der(certs: Certs) -> bytes:
    return ssl.PEM_cert_to_DER_cert(certs.cert.read_text())


@pytest.fixture
def rotation(certs: Certs, tmp_path: Path) -> Iterator[tuple[Server, AtomicDir, Certs]]:
    """A server reading its key pair from a Secret-like volume; clients trust the old and new CA."""
    secret = AtomicDir(tmp_path / "secret", TLS_FILES)
    secret.publish({name: (certs.directory / name).read_bytes() for name in TLS_FILES})
    renewed = make_certs(tmp_path / "renewed")
    running = start_server(
        certs, tmp_path / "server.log", cert=secret.path("tls.crt"), key=secret.path("tls.key")
    )
    running.context = client_context(certs.ca, renewed.ca)  # a caBundle trusting both, as during a rotation
    yield running, secret, renewed
    running.stop()


def test_rotated_certificate_is_served_to_new_connections_and_no_request_fails(
    rotation: tuple[Server, AtomicDir, Certs], certs: Certs
) -> None:
    server, secret, renewed = rotation
    assert presented_certificate(server, server.port) == der(certs)
    traffic = Traffic(server, lambda: review(bookinfo_pod()))
    try:
        traffic.wait_for_more(50)
        secret.publish({name: (renewed.directory / name).read_bytes() for name in TLS_FILES})
        wait_for(
            lambda: presented_certificate(server, server.port) == der(renewed), "the renewed certificate"
        )
        traffic.wait_for_more(50)
    finally:
        failures = traffic.stop()
    assert failures == []
    assert any(e.get("message") == "serving certificate reloaded" for e in server.log_lines())


def test_a_mismatched_key_pair_keeps_the_previous_certificate(
    rotation: tuple[Server, AtomicDir, Certs], certs: Certs
) -> None:
    server, secret, renewed = rotation
    secret.publish({"tls.crt": renewed.cert.read_bytes(), "tls.key": certs.key.read_bytes()})
    logged = [False]

    def refused() -> bool:
        presented = presented_certificate(server, server.port)
        assert presented == der(certs)
        logged[0] = any(
            e.get("message") == "serving certificate not reloaded; keeping the previous one"
            for e in server.log_lines()
        )
        return logged[0]

    wait_for(refused, "the refused key pair to be logged")
    secret.publish({name: (renewed.directory / name).read_bytes() for name in TLS_FILES})
    wait_for(lambda: presented_certificate(server, server.port) == der(renewed), "the repaired key pair")


POLICIES = {
    "deny": b"rules:\n  MW201: deny\n",
    "warn": b"rules:\n  MW201: warn\n",
    "off": b"rules:\n  MW201: off\n",
    "broken": b"rules:\n  MW201: deny\nrulez: {}\n",
}


def unnamed_port_review() -> dict[str, object]:
    return review(service([{"port": 9080, "protocol": "TCP", "targetPort": 9080}]))


def outcome(server: Server) -> str:
    """What the policy in force makes of a Service port without a protocol, on a new connection."""
    connection = server.connect()
    try:
        response = send(connection, "POST", "/validate", orjson.dumps(unnamed_port_review())).json["response"]
    finally:
        connection.close()
    if not response["allowed"]:
        return "deny"
    return "warn" if response.get("warnings") else "off"


def gauge(server: Server, name: str) -> float:
    line = next(line for line in server.metrics().splitlines() if line.startswith(name + " "))
    return float(line.split()[1])


def reloads(server: Server, result: str) -> float:
    """Policy reloads of every worker so far (each of the two workers reloads on its own)."""
    name = f'meshwarden_policy_reloads_total{{result="{result}"}} '
    return next(
        (float(line.split()[1]) for line in server.metrics().splitlines() if line.startswith(name)), 0
    )


def test_policy_reloads_on_change_and_a_broken_one_keeps_the_last_good(certs: Certs, tmp_path: Path) -> None:
    volume = AtomicDir(tmp_path / "config", ("policy.yaml",))
    volume.publish({"policy.yaml": POLICIES["deny"]})
    server = start_server(certs, tmp_path / "server.log", ["--config", str(volume.path("policy.yaml"))])
    traffic = Traffic(server, unnamed_port_review)
    try:
        assert outcome(server) == "deny"
        wait_for(lambda: server.loaded_workers() == 2, "both workers to have loaded the first policy")
        volume.publish({"policy.yaml": POLICIES["warn"]})
        wait_for(lambda: reloads(server, "success") == 2, "the warn policy in both workers")
        assert [outcome(server) for _ in range(6)] == ["warn"] * 6

        volume.publish({"policy.yaml": POLICIES["broken"]})
        wait_for(lambda: reloads(server, "failure") == 2, "both workers to refuse the broken policy")
        assert gauge(server, "meshwarden_policy_last_reload_success") == 0
        assert [outcome(server) for _ in range(6)] == ["warn"] * 6
        errors = [e for e in server.log_lines() if e.get("level") == "error"]
        assert errors and all("rulez: unknown key" in e["error"] for e in errors)

        volume.publish({"policy.yaml": POLICIES["off"]})
        wait_for(lambda: reloads(server, "success") == 4, "the next good policy in both workers")
        assert [outcome(server) for _ in range(6)] == ["off"] * 6
        traffic.wait_for_more(20)
    finally:
        failures = traffic.stop()
        server.stop()
    assert failures == []
    decisions = {
        ("deny" if not a["allowed"] else "warn" if a.get("warnings") else "off") for a in traffic.answers
    }
    assert decisions == {"deny", "warn", "off"}


# Policies that once killed the watch thread: int() refuses 4,301 digits, and the nesting
# overflowed the recursion limit.
PARSER_BREAKERS = (
    b"rules:\n  MW201: " + b"9" * 4301 + b"\n",
    b"rules:\n  MW201: " + b"[" * 3000 + b"]" * 3000 + b"\n",
)


def publish_and_wait_for_refusals(server: Server, volume: AtomicDir, text: bytes, refusals: float) -> None:
    volume.publish({"policy.yaml": text})
    wait_for(lambda: reloads(server, "failure") == refusals, f"{refusals:g} refusals in all")


def test_a_policy_that_breaks_the_parser_is_refused_and_the_next_good_one_applies(
    certs: Certs, tmp_path: Path
) -> None:
    volume = AtomicDir(tmp_path / "config", ("policy.yaml",))
    volume.publish({"policy.yaml": POLICIES["deny"]})
    policy = volume.path("policy.yaml")
    server = start_server(certs, tmp_path / "server.log", ["--config", str(policy)])
    try:
        wait_for(lambda: server.loaded_workers() == 2, "both workers to have loaded the first policy")
        for attempt, text in enumerate(PARSER_BREAKERS, 1):
            publish_and_wait_for_refusals(server, volume, text, 2 * attempt)
            assert gauge(server, "meshwarden_policy_last_reload_success") == 0
            assert outcome(server) == "deny"

        volume.publish({"policy.yaml": POLICIES["off"]})
        wait_for(lambda: reloads(server, "success") == 2, "the good policy in both workers")
        assert gauge(server, "meshwarden_policy_last_reload_success") == 1
        assert [outcome(server) for _ in range(4)] == ["off"] * 4
    finally:
        server.stop()
    errors = [e["error"] for e in server.log_lines() if e.get("level") == "error"]
    assert sorted(errors) == sorted(
        [f"{policy}:2: '{'9' * 37}...' is not a usable int: too many digits"] * 2
        + [f"{policy}:2: nested more than 32 levels deep"] * 2
    )
    assert b"Traceback" not in (tmp_path / "server.log").read_bytes()
