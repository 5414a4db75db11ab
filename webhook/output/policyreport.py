"""PolicyReports of the Kubernetes Policy working group (`wgpolicyk8s.io/v1alpha2`) in a `v1` List for
`kubectl apply -f -` (JSON, which YAML tools read too, and quick to write for a large cluster): one
PolicyReport per namespace and a ClusterPolicyReport for cluster-scoped objects, each split over
numbered parts so that no object nears the API server's request limit.

Every rule that ran on an object gives results: `fail` (deny) and `warn` for its findings, `skip`
for suppressed ones, `error` for a rule that broke, and one `pass` when it found nothing.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from webhook.findings import INTERNAL_ERROR_CODE, Action, Finding
from webhook.model import ObjectRef
from webhook.output.report import Report
from webhook.rules import Rule

API_VERSION = "wgpolicyk8s.io/v1alpha2"
NAME = "meshwarden"
CLUSTER_NAME = f"{NAME}-cluster"
LABELS = {"app.kubernetes.io/managed-by": NAME}
SOURCE = NAME
CATEGORY = "Istio"
MAX_RESULTS_BYTES = 200 * 1024
"""Results per report, as JSON. A client-side `kubectl apply` copies the whole object into its
last-applied annotation, and the API server refuses annotations over 256 KiB (far below etcd's 1.5
MiB request limit)."""
RESULT_KEYS = ("pass", "fail", "warn", "error", "skip")

_RESULTS = {Action.DENY: "fail", Action.WARN: "warn"}
_SEVERITIES = {Action.DENY: "high", Action.WARN: "medium"}

Result = dict[str, Any]


def render(report: Report) -> bytes:
    document = {"apiVersion": "v1", "kind": "List", "items": list(reports(report))}
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def reports(report: Report, max_bytes: int = MAX_RESULTS_BYTES) -> Iterator[dict[str, Any]]:
    """The reports, the cluster's first (always written, so that every run replaces it)."""
    stamp = _timestamp()
    by_namespace: defaultdict[str, list[list[Result]]] = defaultdict(list)
    by_namespace[""] = []
    for ref, results in _results_by_object(report, stamp):
        if results:  # none in an exempt namespace
            by_namespace[ref.namespace].append(results)
    by_namespace[""].insert(0, [_unread(u.resource, u.reason, stamp) for u in report.unread])
    for namespace, groups in by_namespace.items():
        base = f"{NAME}-{namespace}" if namespace else CLUSTER_NAME
        for part, results in enumerate(_parts(groups, max_bytes), 1):
            name = base if part == 1 else f"{base}-{part}"
            yield _report(name, namespace, results)


def _results_by_object(report: Report, stamp: dict[str, int]) -> Iterator[tuple[ObjectRef, list[Result]]]:
    findings: defaultdict[ObjectRef, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        findings[finding.object].append(finding)
    refs = dict.fromkeys([ref for ref, _, _ in report.objects] + list(findings))
    for ref in refs:
        own = findings.get(ref, [])
        found = {f.docs for f in own}  # a finding's docs name its rule, a broken rule's (MW000) too
        passed = [rule for rule in report.rules_run.get(ref, ()) if rule.docs not in found]
        yield ref, [_finding(f, stamp) for f in own] + [_pass(rule, ref, stamp) for rule in passed]


def _finding(finding: Finding, stamp: dict[str, int]) -> Result:
    if finding.code == INTERNAL_ERROR_CODE:
        outcome = "error"
    elif finding.suppressed:
        outcome = "skip"
    else:
        outcome = _RESULTS[finding.action]
    properties = {
        "messageId": finding.message_id,
        "path": finding.path,
        "fix": finding.fix,
        "docs": finding.docs,
    }
    if finding.suppress_reason:
        properties["suppressReason"] = finding.suppress_reason
    result = _result(finding.rule, finding.code, outcome, finding.message, finding.object, stamp)
    if outcome != "error":
        result["severity"] = _SEVERITIES[finding.action]
    result["properties"] = properties
    return result


def _pass(rule: Rule, ref: ObjectRef, stamp: dict[str, int]) -> Result:
    result = _result(rule.name, rule.code, "pass", "no violation", ref, stamp)
    result["properties"] = {"docs": rule.docs}
    return result


def _unread(resource: str, reason: str, stamp: dict[str, int]) -> Result:
    return {
        "policy": "audit",
        "rule": "unread",
        "result": "error",
        "message": f"{resource} not read: {reason}",
        "source": SOURCE,
        "timestamp": stamp,
    }


def _result(
    policy: str, rule: str, outcome: str, message: str, ref: ObjectRef, stamp: dict[str, int]
) -> Result:
    resource = {"apiVersion": ref.api_version, "kind": ref.kind, "name": ref.name}
    if ref.namespace:
        resource["namespace"] = ref.namespace
    return {
        "policy": policy,
        "rule": rule,
        "result": outcome,
        "message": message,
        "category": CATEGORY,
        "source": SOURCE,
        "scored": True,
        "timestamp": stamp,
        "resources": [resource],
    }


def _parts(groups: Iterable[list[Result]], max_bytes: int) -> Iterator[list[Result]]:
    """The results in parts of at most `max_bytes`; an object's results stay together. Always one
    part, empty if need be, so that a namespace's first report is replaced even when it empties."""
    part: list[Result] = []
    size = 0
    for group in groups:
        group_size = len(orjson.dumps(group))
        if part and size + group_size > max_bytes:
            yield part
            part, size = [], 0
        part.extend(group)
        size += group_size
    yield part


def _report(name: str, namespace: str, results: list[Result]) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    metadata["labels"] = dict(LABELS)
    counts = Counter(r["result"] for r in results)
    return {
        "apiVersion": API_VERSION,
        "kind": "PolicyReport" if namespace else "ClusterPolicyReport",
        "metadata": metadata,
        "summary": {key: counts[key] for key in RESULT_KEYS},
        "results": results,
    }


def _timestamp() -> dict[str, int]:
    now = time.time_ns()
    return {"seconds": now // 1_000_000_000, "nanos": now % 1_000_000_000}
