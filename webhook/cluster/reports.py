"""`meshwarden audit --apply`: the audit's PolicyReports written to the cluster.

Each report is applied server-side (so its size is bounded by the request limit alone, with no
last-applied copy), then the reports Meshwarden wrote before and this run did not (a namespace
emptied, a part no longer needed) are deleted: reports are never missing between two runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from webhook.cluster.api import KubeApi
from webhook.cluster.resources import ApiResource
from webhook.model import Body, as_dict

FIELD_MANAGER = "meshwarden"
POLICY_REPORTS = ApiResource("PolicyReport", "wgpolicyk8s.io", "v1alpha2", "policyreports")
CLUSTER_POLICY_REPORTS = ApiResource(
    "ClusterPolicyReport", "wgpolicyk8s.io", "v1alpha2", "clusterpolicyreports", namespaced=False
)
REPORT_RESOURCES = {r.kind: r for r in (POLICY_REPORTS, CLUSTER_POLICY_REPORTS)}


@dataclass(frozen=True, slots=True)
class Applied:
    applied: int
    deleted: int


def apply_reports(api: KubeApi, reports: Iterable[Body], labels: dict[str, str]) -> Applied:
    """Applies the reports, then deletes the reports that carry `labels` and are not among them."""
    written: set[tuple[str, str, str]] = set()
    for report in reports:
        meta = as_dict(report.get("metadata"))
        api.apply(REPORT_RESOURCES[report["kind"]], report, field_manager=FIELD_MANAGER)
        written.add((report["kind"], str(meta.get("namespace") or ""), str(meta["name"])))
    selector = ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
    deleted = 0
    for resource in REPORT_RESOURCES.values():
        for item in api.list_page(resource, label_selector=selector).items:
            meta = as_dict(item.get("metadata"))
            namespace, name = str(meta.get("namespace") or ""), str(meta.get("name"))
            if (resource.kind, namespace, name) not in written:
                api.delete(resource, namespace, name)
                deleted += 1
    return Applied(len(written), deleted)
