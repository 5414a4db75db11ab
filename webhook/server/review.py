"""The AdmissionReview envelope: reading the request the API server sends, writing the answer.

Answers go back in the request's apiVersion (v1 or v1beta1) with the uid echoed; the API server
treats anything else as a failed call and applies the webhook's failurePolicy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from webhook.model import Body, as_dict

API_VERSIONS = ("admission.k8s.io/v1", "admission.k8s.io/v1beta1")
OPERATIONS = ("CREATE", "UPDATE", "DELETE", "CONNECT")
EVALUATED_OPERATIONS = ("CREATE", "UPDATE")
SHOWN_LENGTH = 40

T = TypeVar("T")


class BadReview(ValueError):
    """The body is not an AdmissionReview request; the message names the problem."""


@dataclass(frozen=True, slots=True)
class AdmissionRequest:
    api_version: str
    uid: str
    group: str
    kind: str
    operation: str
    namespace: str
    name: str
    sub_resource: str
    dry_run: bool
    object: Body | None
    old_object: Body | None


def parse_review(review: Any) -> AdmissionRequest:
    if not isinstance(review, dict):
        raise BadReview(f"expected a JSON object (an AdmissionReview), got {_json_type(review)}")
    api_version = _one_of(review, "apiVersion", API_VERSIONS)
    _one_of(review, "kind", ("AdmissionReview",))
    request = review.get("request")
    if not isinstance(request, dict):
        raise BadReview(f"request: expected an object, got {_json_type(request)}")
    uid = request.get("uid")
    if not isinstance(uid, str) or not uid:
        raise BadReview("request.uid: expected a non-empty string")
    operation = _one_of(request, "operation", OPERATIONS, "request.")
    kind = as_dict(request.get("kind")).get("kind")
    if not isinstance(kind, str) or not kind:
        raise BadReview("request.kind.kind: expected a non-empty string")
    group = as_dict(request.get("kind")).get("group") or ""
    if not isinstance(group, str):
        raise BadReview(f"request.kind.group: expected a string, got {_json_type(group)}")
    sub_resource = _optional(request, "subResource", str, "")
    obj = _optional(request, "object", dict, None)
    if operation in EVALUATED_OPERATIONS and not sub_resource and obj is None:
        raise BadReview(f"request.object: expected the object for {operation}, got null")
    return AdmissionRequest(
        api_version=api_version,
        uid=uid,
        group=group,
        kind=kind,
        operation=operation,
        namespace=_optional(request, "namespace", str, ""),
        name=_optional(request, "name", str, ""),
        sub_resource=sub_resource,
        dry_run=_optional(request, "dryRun", bool, False),
        object=obj,
        old_object=_optional(request, "oldObject", dict, None),
    )


def _one_of(body: Body, key: str, choices: tuple[str, ...], prefix: str = "") -> str:
    value = body.get(key)
    if isinstance(value, str) and value in choices:
        return value
    expected = f"one of {', '.join(choices)}" if len(choices) > 1 else choices[0]
    if value is None:
        raise BadReview(f"{prefix}{key} is missing; expected {expected}")
    if not isinstance(value, str):
        raise BadReview(f"{prefix}{key}: expected {expected}, got {_json_type(value)}")
    raise BadReview(f"{prefix}{key}: {_shown(value)} is not {expected}")


def _shown(text: str) -> str:
    """The client's text, quoted and cut short: a message never repeats an unbounded value."""
    return repr(text if len(text) <= SHOWN_LENGTH else text[: SHOWN_LENGTH - 3] + "...")


def _optional(request: Body, key: str, expected: type[T], default: T) -> T:
    value = request.get(key)
    if value is None:
        return default
    if not isinstance(value, expected):
        raise BadReview(f"request.{key}: expected {_TYPE_NAMES[expected]}, got {_json_type(value)}")
    return value


_TYPE_NAMES: dict[type, str] = {str: "a string", bool: "true or false", dict: "an object"}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def answer(
    request: AdmissionRequest, *, allowed: bool, message: str = "", warnings: list[str] | None = None
) -> Body:
    response: Body = {"uid": request.uid, "allowed": allowed}
    if not allowed:
        response["status"] = {"code": 403, "reason": "Forbidden", "message": message}
    if warnings:
        response["warnings"] = warnings
    return {"apiVersion": request.api_version, "kind": "AdmissionReview", "response": response}
