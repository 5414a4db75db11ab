"""Envelopes no API server sends, through the real server: a 400 with a short JSON error, never a 5xx."""

from __future__ import annotations

import orjson
import pytest

from tests.e2e.harness import Server
from tests.e2e.reviews import bookinfo_pod, review

V1_CHOICES = "one of admission.k8s.io/v1, admission.k8s.io/v1beta1"


def without_api_version() -> bytes:
    body = review(bookinfo_pod())
    del body["apiVersion"]
    return orjson.dumps(body)


ENVELOPES = {
    # 988 levels and more made the error message itself overflow the recursion limit: a 500
    "apiVersion nested 1,000 deep": (
        b'{"apiVersion": ' + b"[" * 1000 + b"]" * 1000 + b', "kind": "AdmissionReview"}',
        f"apiVersion: expected {V1_CHOICES}, got an array",
    ),
    "no apiVersion": (without_api_version(), f"apiVersion is missing; expected {V1_CHOICES}"),
    "a 1 MiB apiVersion": (
        orjson.dumps({"apiVersion": "x" * 1024 * 1024, "kind": "AdmissionReview"}),
        f"apiVersion: '{'x' * 37}...' is not {V1_CHOICES}",
    ),
}


@pytest.mark.parametrize("case", ENVELOPES)
def test_a_bad_envelope_is_a_400_with_a_short_clear_error(server: Server, case: str) -> None:
    body, error = ENVELOPES[case]
    reply = server.request("POST", "/validate", body)
    assert (reply.status, reply.headers["content-type"]) == (400, "application/json")
    assert reply.json == {"error": error}
