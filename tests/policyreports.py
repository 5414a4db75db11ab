"""The PolicyReport CRDs' schemas (vendored from the Kubernetes Policy working group's prototypes,
Apache-2.0, see data/policyreport/LICENSE.wg-policy-prototypes) and a validator for reports."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml

CRDS = Path(__file__).parent / "data" / "policyreport"
VERSION = "v1alpha2"
SCOPES = {"PolicyReport": "Namespaced", "ClusterPolicyReport": "Cluster"}
METADATA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 253, "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"},
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "required": ["name"],
    "additionalProperties": False,
}


def _closed(schema: Any) -> Any:
    """The schema with unknown fields refused: the API server would drop them without a word."""
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: _closed(value) for key, value in schema.items()}
    if "properties" in schema and "additionalProperties" not in schema:
        closed["additionalProperties"] = False
    return closed


@functools.cache
def validator(kind: str) -> jsonschema.protocols.Validator:
    crd = yaml.safe_load((CRDS / f"wgpolicyk8s.io_{kind.lower()}s.yaml").read_text())
    assert crd["spec"]["names"]["kind"] == kind and crd["spec"]["scope"] == SCOPES[kind]
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == VERSION]
    assert version["served"]
    schema = _closed(version["schema"]["openAPIV3Schema"])
    schema["properties"]["metadata"] = METADATA
    schema["required"] = ["apiVersion", "kind", "metadata"]
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate(report: dict[str, Any]) -> None:
    """Raises jsonschema.ValidationError unless the report is a valid PolicyReport or ClusterPolicyReport."""
    assert report["apiVersion"] == f"wgpolicyk8s.io/{VERSION}"
    assert ("namespace" in report["metadata"]) == (report["kind"] == "PolicyReport")
    validator(report["kind"]).validate(report)
