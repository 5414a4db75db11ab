"""The AdmissionReview envelope: every problem is a BadReview with a short message."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from webhook.server.review import BadReview, parse_review

V1 = "admission.k8s.io/v1"
CHOICES = "one of admission.k8s.io/v1, admission.k8s.io/v1beta1"


def nested(depth: int) -> Any:
    """A value nested as deep as a JSON parser lets through (orjson stops at 1,024 levels)."""
    return orjson.loads(b"[" * depth + b"]" * depth)


def request(**fields: Any) -> dict[str, Any]:
    return {"uid": "u-1", "kind": {"kind": "Pod"}, "operation": "DELETE", **fields}


@pytest.mark.parametrize(
    ("review", "message"),
    [
        ({"kind": "AdmissionReview"}, f"apiVersion is missing; expected {CHOICES}"),
        ({"apiVersion": None, "kind": "AdmissionReview"}, f"apiVersion is missing; expected {CHOICES}"),
        ({"apiVersion": "v1"}, f"apiVersion: 'v1' is not {CHOICES}"),
        ({"apiVersion": nested(1000)}, f"apiVersion: expected {CHOICES}, got an array"),
        ({"apiVersion": {"a": 1}}, f"apiVersion: expected {CHOICES}, got an object"),
        ({"apiVersion": 1}, f"apiVersion: expected {CHOICES}, got a number"),
        ({"apiVersion": "v" * 100_000}, f"apiVersion: '{'v' * 37}...' is not {CHOICES}"),
        ({"apiVersion": V1}, "kind is missing; expected AdmissionReview"),
        ({"apiVersion": V1, "kind": nested(1000)}, "kind: expected AdmissionReview, got an array"),
        ({"apiVersion": V1, "kind": "Pod"}, "kind: 'Pod' is not AdmissionReview"),
        (
            {"apiVersion": V1, "kind": "AdmissionReview", "request": request(operation=None)},
            "request.operation is missing; expected one of CREATE, UPDATE, DELETE, CONNECT",
        ),
        (
            {"apiVersion": V1, "kind": "AdmissionReview", "request": request(operation=nested(1000))},
            "request.operation: expected one of CREATE, UPDATE, DELETE, CONNECT, got an array",
        ),
        (
            {"apiVersion": V1, "kind": "AdmissionReview", "request": request(operation="PATCH")},
            "request.operation: 'PATCH' is not one of CREATE, UPDATE, DELETE, CONNECT",
        ),
        (
            {"apiVersion": V1, "kind": "AdmissionReview", "request": request(subResource=nested(1000))},
            "request.subResource: expected a string, got an array",
        ),
    ],
)
def test_envelope_errors_say_what_is_wrong_without_repeating_the_value(
    review: dict[str, Any], message: str
) -> None:
    with pytest.raises(BadReview) as raised:
        parse_review(review)
    assert str(raised.value) == message
