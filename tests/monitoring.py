"""The monitoring component's dashboard and alerts, as the tests read them: every PromQL expression
with where it comes from, and the series each one selects.

Expressions are parsed with promql-parser (Prometheus's grammar, in Rust). Grafana's interval
variables ($__rate_interval, $__range) stand where PromQL expects a duration: they are replaced by
one before parsing. Other variables ($namespace, $webhook) appear only inside label values.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import promql_parser
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPONENT = ROOT / "manifests" / "components" / "monitoring"
DASHBOARD = COMPONENT / "meshwarden.json"
PROMETHEUS_RULE = COMPONENT / "prometheusrule.yaml"

WEBHOOK_NAME = "validate.meshwarden.io"

# The API server's metrics about admission webhooks and their labels, as Kubernetes defines them
# (staging/src/k8s.io/apiserver/pkg/admission/metrics/metrics.go); a histogram's series add `le`.
_DURATION_LABELS = {"name", "type", "operation", "rejected"}
APISERVER_WEBHOOK_METRICS = {
    "apiserver_admission_webhook_admission_duration_seconds_bucket": _DURATION_LABELS | {"le"},
    "apiserver_admission_webhook_admission_duration_seconds_count": _DURATION_LABELS,
    "apiserver_admission_webhook_admission_duration_seconds_sum": _DURATION_LABELS,
    "apiserver_admission_webhook_rejection_count": {
        "name",
        "type",
        "operation",
        "error_type",
        "rejection_code",
    },
    "apiserver_admission_webhook_fail_open_count": {"name", "type"},
    "apiserver_admission_webhook_request_total": {"name", "type", "operation", "code", "rejected"},
}

# Labels Prometheus adds to every scraped series: from the target (Kubernetes service discovery,
# as the Prometheus Operator configures it), not from the exporter.
TARGET_LABELS = {"namespace", "job", "instance", "pod", "service", "endpoint", "container"}

_GRAFANA_DURATION = re.compile(r"\$__(rate_interval|range|interval)\b")


@dataclass(frozen=True)
class Query:
    where: str
    expr: str


@dataclass(frozen=True, eq=False)
class Selector:
    """One series selector of a query, and the labels the query matches or groups it by."""

    query: Query
    metric: str
    labels: frozenset[str]
    equal: dict[str, str]
    """The selector's equality matchers, label to value."""


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())  # type: ignore[no-any-return]


def prometheus_rule() -> dict[str, Any]:
    return yaml.safe_load(PROMETHEUS_RULE.read_text())  # type: ignore[no-any-return]


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in board["panels"] if p["type"] != "row"]


def alerts(rule: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for group in rule["spec"]["groups"] for r in group["rules"]]


def queries() -> list[Query]:
    """Every expression of the dashboard (panels and template variables) and of the alerts."""
    board = dashboard()
    found = [
        Query(f"panel {p['title']!r} {t['refId']}", t["expr"]) for p in panels(board) for t in p["targets"]
    ]
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            found.append(Query(f"variable {variable['name']}", _label_values_series(variable)))
    found += [Query(f"alert {a['alert']}", a["expr"]) for a in alerts(prometheus_rule())]
    return found


def _label_values_series(variable: dict[str, Any]) -> str:
    """label_values(series, label) is Grafana's, not PromQL: its series and label become a selector."""
    match = re.fullmatch(r"label_values\((.+), *(\w+)\)", variable["query"]["query"])
    assert match, variable
    return f"group by ({match[2]}) ({match[1]})"


def parse(query: Query) -> promql_parser.Expr:
    return promql_parser.parse(_GRAFANA_DURATION.sub("5m", query.expr))


def selectors(query: Query) -> list[Selector]:
    """Each selector, with the labels its matchers name and the labels any aggregation above it
    groups by (`by (...)`, `without (...)`), which must exist on the series too."""
    found: list[Selector] = []

    def visit(node: promql_parser.Expr, grouping: frozenset[str]) -> None:
        if isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
            grouping = grouping | set(node.modifier.labels)
        if isinstance(node, promql_parser.VectorSelector):
            assert node.name, f"{query.where}: a selector without a metric name: {query.expr}"
            matchers = node.matchers.matchers
            equal = {m.name: m.value for m in matchers if m.op == promql_parser.MatchOp.Equal}
            labels = {m.name for m in matchers} | grouping
            found.append(Selector(query, node.name, frozenset(labels), equal))
            return
        for child in _children(node):
            visit(child, grouping)

    visit(parse(query), frozenset())
    return found


def _children(node: promql_parser.Expr) -> list[promql_parser.Expr]:
    if isinstance(node, promql_parser.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, promql_parser.Call):
        return list(node.args)
    if isinstance(node, promql_parser.MatrixSelector):
        return [node.vector_selector]
    if isinstance(
        node,
        promql_parser.AggregateExpr
        | promql_parser.ParenExpr
        | promql_parser.UnaryExpr
        | promql_parser.SubqueryExpr,
    ):
        return [node.expr]
    return []
