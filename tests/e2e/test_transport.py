"""TLS, HTTP and robustness of the server: what any client, well-behaved or not, can send it."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from tests.e2e.harness import SERVER_NAME, Certs, Server, client_context, send, start_server
from tests.e2e.reviews import bookinfo_pod, example, review

MiB = 1024 * 1024


def test_tls_certificate_is_for_the_service_name_and_signed_by_the_ca(server: Server) -> None:
    with (
        socket.create_connection(("127.0.0.1", server.port)) as raw,
        server.context.wrap_socket(raw, server_hostname=SERVER_NAME) as tls,
    ):
        certificate = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True) or b"")
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [
        "meshwarden",
        "meshwarden.meshwarden",
        "meshwarden.meshwarden.svc",
        "meshwarden.meshwarden.svc.cluster.local",
    ]
    key = certificate.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"


def test_a_name_not_in_the_certificate_fails_verification(server: Server) -> None:
    with (
        socket.create_connection(("127.0.0.1", server.port)) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        server.context.wrap_socket(raw, server_hostname="meshwarden.other.svc")


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_tls_1_2_and_1_3_are_served(server: Server, version: ssl.TLSVersion) -> None:
    context = client_context(server.ca)
    context.minimum_version = context.maximum_version = version
    with (
        socket.create_connection(("127.0.0.1", server.port)) as raw,
        context.wrap_socket(raw, server_hostname=SERVER_NAME) as tls,
    ):
        assert (
            tls.version() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
        )


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
def test_tls_1_1_is_refused_by_the_server(server: Server) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.minimum_version = ssl.TLSVersion.TLSv1
    context.maximum_version = ssl.TLSVersion.TLSv1_1
    with socket.create_connection(("127.0.0.1", server.port)) as raw, pytest.raises(ssl.SSLError) as refused:
        context.wrap_socket(raw, server_hostname=SERVER_NAME)
    assert "PROTOCOL_VERSION" in str(refused.value).upper()


def test_requests_share_one_kept_alive_connection(server: Server) -> None:
    connection = server.connect()
    try:
        replies = [send(connection, "POST", "/validate", orjson.dumps(review(bookinfo_pod())))]
        first_socket = connection.sock
        replies += [
            send(connection, "POST", "/validate", orjson.dumps(review(bookinfo_pod()))) for _ in range(19)
        ]
        assert [r.status for r in replies] == [200] * 20
        assert {r.headers["connection"] for r in replies} == {"keep-alive"}
        assert connection.sock is first_socket
    finally:
        connection.close()


MALFORMED = {
    "empty": (b"", "not valid JSON"),
    "truncated": (b'{"apiVersion": "admission.k8s.io/v1", "kind": "Adm', "not valid JSON"),
    "not UTF-8": (b'{"apiVersion": "\xff"}', "not valid JSON"),
    "nested too deep": (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
    "an array": (b"[1, 2]", "expected a JSON object (an AdmissionReview), got an array"),
    "another kind": (b'{"apiVersion": "v1", "kind": "Pod"}', "apiVersion: 'v1' is not one of"),
    "no request": (
        b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}',
        "request: expected an object, got null",
    ),
}


def _broken(change: str) -> bytes:
    body = example("review-pod-deny.json")
    request = body["request"]
    if change == "uid":
        request["uid"] = 42
    elif change == "operation":
        request["operation"] = "PATCH"
    elif change == "object":
        request["object"] = None
    elif change == "object type":
        request["object"] = "a pod"
    elif change == "dryRun":
        request["dryRun"] = "yes"
    elif change == "kind":
        del request["kind"]
    return orjson.dumps(body)


BROKEN_REQUESTS = {
    "uid": "request.uid: expected a non-empty string",
    "operation": "request.operation: 'PATCH' is not one of CREATE, UPDATE, DELETE, CONNECT",
    "object": "request.object: expected the object for CREATE, got null",
    "object type": "request.object: expected an object, got a string",
    "dryRun": "request.dryRun: expected true or false, got a string",
    "kind": "request.kind.kind: expected a non-empty string",
}


@pytest.mark.parametrize("case", [*MALFORMED, *BROKEN_REQUESTS])
def test_a_body_that_is_not_an_admission_review_gets_400_naming_the_problem(
    server: Server, case: str
) -> None:
    body, problem = MALFORMED[case] if case in MALFORMED else (_broken(case), BROKEN_REQUESTS[case])
    reply = server.request("POST", "/validate", body)
    assert reply.status == 400
    assert reply.headers["content-type"] == "application/json"
    assert problem in reply.json["error"]


def test_malformed_bodies_never_take_a_worker_down(server: Server) -> None:
    for body, _ in MALFORMED.values():
        assert server.request("POST", "/validate", body).status == 400
    sent = review(bookinfo_pod())
    assert server.review(sent).response["allowed"] is True
    gunicorn = [e["message"] for e in server.log_lines() if e.get("logger") == "gunicorn.error"]
    assert sum(m.startswith("Booting worker") for m in gunicorn) == 2
    assert not [e for e in server.log_lines() if e.get("level") in ("error", "critical")]


@pytest.mark.parametrize(("method", "path", "status"), [("GET", "/validate", 405), ("POST", "/mutate", 404)])
def test_other_routes_answer_json_errors(server: Server, method: str, path: str, status: int) -> None:
    reply = server.request(method, path, b"{}" if method == "POST" else None)
    assert reply.status == status
    assert "error" in reply.json


def _padded_pod(size: int) -> dict[str, object]:
    """A pod whose managedFields bring it to `size` bytes of JSON, as big objects look in practice."""
    pod = bookinfo_pod()
    fields = {
        f'f:k:{{"name":"env-{i:06d}"}}': {".": {}, "f:name": {}, "f:value": {}} for i in range(size // 60)
    }
    pod["metadata"]["managedFields"].append(
        {
            "manager": "helm",
            "operation": "Update",
            "apiVersion": "v1",
            "time": "2025-01-15T10:00:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:containers": {"f:env": fields}}},
        }
    )
    return pod


def test_an_update_of_a_2_5_mib_object_is_answered(server: Server) -> None:
    pod = _padded_pod(int(2.5 * MiB))
    assert len(orjson.dumps(pod)) >= 2.5 * MiB
    sent = review(pod, "UPDATE", old=pod)
    reply = server.review(sent)
    assert reply.status == 200
    assert reply.response == {"uid": sent["request"]["uid"], "allowed": True}


def test_a_body_over_the_limit_gets_a_clean_400_on_a_connection_that_stays_usable(server: Server) -> None:
    pod = bookinfo_pod(annotations={"padding": "x" * (17 * MiB)})
    connection = server.connect()
    try:
        reply = send(connection, "POST", "/validate", orjson.dumps(review(pod)))
        assert reply.status == 400
        assert reply.json == {"error": "the body is larger than the 16 MiB limit"}
        sent = review(bookinfo_pod())
        after = send(connection, "POST", "/validate", orjson.dumps(sent))
        assert after.json["response"]["uid"] == sent["request"]["uid"]
    finally:
        connection.close()


def test_fifty_concurrent_reviews_each_get_their_own_answer(server: Server) -> None:
    reviews = [review(bookinfo_pod(labels={"app": "productpage"} if i % 2 else None)) for i in range(50)]
    answers: dict[int, dict[str, object]] = {}
    start = threading.Barrier(50)

    def call(index: int) -> None:
        connection = server.connect()
        try:
            start.wait()
            answers[index] = send(connection, "POST", "/validate", orjson.dumps(reviews[index])).json[
                "response"
            ]
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == list(range(50))
    for index, answer in answers.items():
        assert answer["uid"] == reviews[index]["request"]["uid"]
        assert answer["allowed"] is (index % 2 == 0)


def _client_hello() -> bytes:
    """The first flight of a real TLS client."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname=SERVER_NAME)
    with contextlib.suppress(ssl.SSLWantReadError):
        client.do_handshake()
    return outgoing.read()


@pytest.fixture
def small_server(certs: Certs, tmp_path: Path) -> Iterator[Server]:
    """One worker with two threads: a few stalled connections would be enough to starve stock gthread."""
    running = start_server(certs, tmp_path / "server.log", ["--workers", "1", "--threads", "2"])
    yield running
    running.stop()


def test_idle_and_half_handshaken_connections_do_not_starve_the_workers(small_server: Server) -> None:
    hello = _client_hello()
    idle = [socket.create_connection(("127.0.0.1", small_server.port)) for _ in range(50)]
    stalled = [socket.create_connection(("127.0.0.1", small_server.port)) for _ in range(10)]
    try:
        for connection in stalled:
            connection.sendall(hello[: len(hello) // 2])
        sent = review(bookinfo_pod())
        connection = small_server.connect(timeout=20)
        try:
            reply = send(connection, "POST", "/validate", orjson.dumps(sent))
        finally:
            connection.close()
        assert reply.response == {"uid": sent["request"]["uid"], "allowed": True}
    finally:
        for connection in idle + stalled:
            connection.close()
