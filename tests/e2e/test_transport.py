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
from tests.e2e.rawhttp import Replies, chunk, head, open_tls, post, reply
from tests.e2e.reviews import bookinfo_pod, config_map, example, review
from tests.polling import wait_for

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
    wait_for(lambda: server.loaded_workers() == 2, "both workers to have loaded")
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


def test_a_body_over_the_limit_gets_413_and_the_client_reads_it(server: Server) -> None:
    """The client is still sending when the answer comes: the server reads and drops the rest
    before closing, or the kernel's reset could destroy the answer."""
    pod = bookinfo_pod(annotations={"padding": "x" * (17 * MiB)})
    connection = server.connect()
    try:
        reply = send(connection, "POST", "/validate", orjson.dumps(review(pod)))
    finally:
        connection.close()
    assert (reply.status, reply.headers["connection"]) == (413, "close")
    assert reply.json == {"error": "the body is larger than the 16 MiB limit"}


def test_a_declared_length_over_the_limit_gets_413_before_any_body(server: Server) -> None:
    with open_tls(server) as connection:
        connection.sendall(head(17 * MiB))
        answer = reply(connection)
    assert (answer.status, answer.headers["connection"]) == (413, "close")
    assert answer.json == {"error": "the body is larger than the 16 MiB limit"}


def test_a_chunked_body_over_the_limit_gets_413_before_it_ends(server: Server) -> None:
    with open_tls(server) as connection:
        connection.sendall(head(chunked=True))
        for _ in range(17):  # and no last chunk: the server must not wait for one
            connection.sendall(chunk(b" " * MiB))
        answer = reply(connection)
    assert (answer.status, answer.headers["connection"]) == (413, "close")
    assert answer.json == {"error": "the body is larger than the 16 MiB limit"}


def test_a_chunked_review_is_answered(server: Server) -> None:
    sent = review(bookinfo_pod())
    body = orjson.dumps(sent)
    with open_tls(server) as connection:
        connection.sendall(head(chunked=True) + chunk(body[:1000]) + chunk(body[1000:]) + b"0\r\n\r\n")
        answer = reply(connection)
    assert answer.status == 200
    assert answer.response == {"uid": sent["request"]["uid"], "allowed": True}


@pytest.mark.parametrize(
    "ending",
    [b";\x01\r\n{body}\r\n0\r\n\r\n", b" \r\n{body}\r\n0\r\n\r\n", b"\r\n{body}\r\n0\r\nX: \x01\r\n\r\n"],
    ids=["control character in an extension", "space after the size", "control character in a trailer"],
)
def test_a_malformed_chunked_body_gets_400(server: Server, ending: bytes) -> None:
    body = orjson.dumps(review(bookinfo_pod()))
    with open_tls(server) as connection:
        connection.sendall(head(chunked=True) + b"%x" % len(body) + ending.replace(b"{body}", body))
        answer = reply(connection)
        assert connection.recv(1) == b""  # where the next request would start is unknown: closed
    assert answer.status == 400
    assert answer.json["error"].startswith("the chunked body is malformed: ")


def test_headers_over_16_kib_get_431(server: Server) -> None:
    with open_tls(server) as connection:
        connection.sendall(head(extra=f"X-Padding: {'x' * 20_000}\r\n"))
        answer = reply(connection)
    assert (answer.status, answer.headers["connection"]) == (431, "close")
    assert "larger than 16 KiB" in answer.json["error"]


def test_a_body_of_too_many_json_values_gets_413_without_being_parsed(server: Server) -> None:
    values = b"[" + b"{}," * 1_000_000 + b"{}]"  # 3 MiB, but 2 million values
    reply = server.request("POST", "/validate", values)
    assert reply.status == 413
    assert reply.json["error"].startswith("the body has more than 2,000,000 JSON values")


def _worker_peak_memory(server: Server) -> dict[int, int]:
    """Each worker's peak resident set (VmHWM), in bytes."""
    peaks = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            pid, rest = stat.read_text().split(" ", 1)
            if int(rest.rsplit(")", 1)[1].split()[1]) == server.process.pid:
                status = (stat.parent / "status").read_text()
                peaks[int(pid)] = int(status.split("VmHWM:")[1].split()[0]) * 1024
    return peaks


def test_four_bodies_of_16_mib_of_empty_objects_at_once_stay_under_200_mib(
    certs: Certs, tmp_path: Path
) -> None:
    """`[{},{},…]` takes 25 times its size once parsed: 16 MiB of it took a worker to 543 MiB."""
    server = start_server(certs, tmp_path / "server.log", ["--workers", "1"])
    values = b"[" + b"{}," * (16 * MiB // 3 - 1) + b"{}]"
    replies: list[int] = []

    def send_one() -> None:
        connection = server.connect()
        try:
            replies.append(send(connection, "POST", "/validate", values).status)
        finally:
            connection.close()

    try:
        threads = [threading.Thread(target=send_one) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # Each body is refused once parsed (413). The buffer budget holds back the bodies beyond
        # it, and on a slow machine one held back past the 3 s read deadline gets 408 instead.
        assert len(replies) == 4 and set(replies) <= {413, 408} and 413 in replies
        [peak] = _worker_peak_memory(server).values()
        assert peak < 200 * MiB
    finally:
        server.stop()


def test_bodies_that_never_end_hold_at_most_the_budget_and_reviews_still_pass(
    certs: Certs, tmp_path: Path
) -> None:
    """Ten clients send 15 MiB of a 16 MiB body and stop: a worker buffers 32 MiB of requests at
    most (then stops reading the big ones) and goes on reading small ones."""
    server = start_server(certs, tmp_path / "server.log", ["--workers", "1", "--read-timeout", "5"])
    almost = head(16 * MiB) + b" " * (15 * MiB)
    statuses: list[int] = []

    def send_almost() -> None:
        # After its 408 the server drops what the client still sends for 2 s, then resets: a
        # busy machine may not send the rest of 150 MiB in time (TLS may see the end as an EOF).
        with contextlib.suppress(ConnectionError, ssl.SSLEOFError), open_tls(server) as connection:
            connection.settimeout(30)
            connection.sendall(almost)  # blocks while the server does not read
            statuses.append(reply(connection).status)

    senders = [threading.Thread(target=send_almost) for _ in range(10)]
    try:
        for sender in senders:
            sender.start()
        sent = review(bookinfo_pod())
        answer = server.review(sent)
        assert answer.response == {"uid": sent["request"]["uid"], "allowed": True}
        for sender in senders:
            sender.join()
        assert set(statuses) <= {408}
        [peak] = _worker_peak_memory(server).values()
        assert peak < 130 * MiB, peak / MiB
    finally:
        server.stop()


def test_pipelined_requests_are_each_answered_in_order(server: Server) -> None:
    """Sent in one TLS record: once the first request is read, the others are already decrypted in
    the TLS layer and the socket never turns readable for them again."""
    sent = [
        review(bookinfo_pod(annotations={"note": "x" * 5000})),
        review(config_map()),
        review(config_map()),
    ]
    requests = b"".join(post(orjson.dumps(r)) for r in sent)
    assert 8 * 1024 < len(requests) < 16 * 1024
    with open_tls(server) as connection:
        connection.sendall(requests)
        replies = Replies(connection)
        answers = [replies.next() for _ in sent]
    assert [a.status for a in answers] == [200, 200, 200]
    assert [a.response["uid"] for a in answers] == [r["request"]["uid"] for r in sent]


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
