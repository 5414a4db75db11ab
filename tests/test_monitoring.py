"""The monitoring component (manifests/components/monitoring) and its copies in the Helm chart: the
Grafana dashboard, the PrometheusRule and the README's list of alerts. Which metrics the server
really exports is checked against a live scrape in tests/e2e/test_monitoring.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.monitoring import (
    APISERVER_WEBHOOK_METRICS,
    COMPONENT,
    DASHBOARD,
    PROMETHEUS_RULE,
    ROOT,
    TARGET_LABELS,
    WEBHOOK_NAME,
    Query,
    alerts,
    dashboard,
    panels,
    parse,
    prometheus_rule,
    queries,
    selectors,
)

CHART_COPIES = ROOT / "charts" / "meshwarden" / "monitoring"
CHART_TEMPLATES = ROOT / "charts" / "meshwarden" / "templates"
README = ROOT / "README.md"


@pytest.mark.parametrize("original", [DASHBOARD, PROMETHEUS_RULE], ids=lambda p: p.name)
def test_the_chart_ships_the_components_files_unchanged(original: Path) -> None:
    copy = CHART_COPIES / original.name
    assert copy.read_bytes() == original.read_bytes(), f"copy {original} to {copy}"


def test_every_expression_parses() -> None:
    found = queries()
    assert len(found) >= 20
    for query in found:
        try:
            parse(query)
        except ValueError as exc:
            pytest.fail(f"{query.where}: {exc}: {query.expr}")


def test_the_parser_refuses_a_broken_expression() -> None:
    """Guards the test above: the parser checks the grammar and the types, not just the tokens."""
    with pytest.raises(ValueError):
        parse(Query("test", "sum(rate(meshwarden_findings_total[5m])"))
    with pytest.raises(ValueError):
        parse(Query("test", "histogram_quantile(0.99, meshwarden_findings_total[5m])"))


def test_queries_name_meshwarden_metrics_or_the_api_servers_for_this_webhook_only() -> None:
    for query in queries():
        for selector in selectors(query):
            if selector.metric.startswith("meshwarden_"):
                continue  # checked against a live scrape in the e2e test
            known = APISERVER_WEBHOOK_METRICS.get(selector.metric)
            assert known is not None, f"{query.where}: {selector.metric} is neither Meshwarden's nor known"
            assert selector.labels <= known | TARGET_LABELS, f"{query.where}: {selector.labels - known}"
            assert selector.equal.get("name") in {WEBHOOK_NAME, "$webhook"}, (
                f"{query.where}: {selector.metric} is not filtered to this webhook"
            )


def used_metrics() -> set[str]:
    return {s.metric for q in queries() if q.where.startswith("panel") for s in selectors(q)}


def test_dashboard_shows_decisions_latency_inventory_certificate_policy_and_the_api_servers_view() -> None:
    assert used_metrics() >= {
        "meshwarden_admission_requests_total",  # decisions, deny rate
        "meshwarden_findings_total",  # by rule and action
        "meshwarden_admission_request_duration_seconds_bucket",  # latency percentiles
        "meshwarden_evaluation_duration_seconds_bucket",
        "meshwarden_inventory_last_event_age_seconds",  # freshness per kind
        "meshwarden_inventory_watch_restarts_total",
        "meshwarden_tls_certificate_expiry_seconds",
        "meshwarden_policy_last_reload_success",
        "meshwarden_policy_reloads_total",
        "apiserver_admission_webhook_admission_duration_seconds_bucket",
        "apiserver_admission_webhook_rejection_count",
        "apiserver_admission_webhook_fail_open_count",
    }


def test_dashboard_layout_and_data_source() -> None:
    board = dashboard()
    assert board["uid"] == "meshwarden" and board["title"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        covered = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not covered & cells, f"panel {panel['title']!r} overlaps another"
        cells |= covered
    for panel in panels(board):
        assert panel["description"], panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]
        assert all(t["datasource"] == panel["datasource"] for t in panel["targets"])


def test_dashboard_variables_default_to_this_install() -> None:
    variables = {v["name"]: v for v in dashboard()["templating"]["list"]}
    assert (
        variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    )
    config = yaml.safe_load((ROOT / "manifests" / "base" / "validatingwebhookconfiguration.yaml").read_text())
    [name] = [hook["name"] for hook in config["webhooks"]]
    assert name == WEBHOOK_NAME == variables["webhook"]["query"] == variables["webhook"]["current"]["value"]
    assert variables["namespace"]["includeAll"] and variables["namespace"]["allValue"] == ".*"


# --- the PrometheusRule ----------------------------------------------------------------------------

RULE_FIELDS = {"alert", "expr", "for", "labels", "annotations"}
DURATION = re.compile(r"([0-9]+(ms|s|m|h|d|w|y))+")


def test_prometheus_rule_structure() -> None:
    """The Prometheus Operator's CRD is not in kubernetes-validate: its shape, asserted."""
    rule = prometheus_rule()
    assert rule["apiVersion"] == "monitoring.coreos.com/v1" and rule["kind"] == "PrometheusRule"
    assert set(rule) == {"apiVersion", "kind", "metadata", "spec"}
    assert rule["metadata"]["namespace"] == "meshwarden" and rule["metadata"]["name"] == "meshwarden"
    assert set(rule["spec"]) == {"groups"}
    names = [g["name"] for g in rule["spec"]["groups"]]
    assert names and len(names) == len(set(names))
    for group in rule["spec"]["groups"]:
        assert set(group) == {"name", "rules"}
    found = alerts(rule)
    assert len({a["alert"] for a in found}) == len(found)
    for alert in found:
        assert set(alert) <= RULE_FIELDS and {"alert", "expr"} <= set(alert), alert
        assert re.fullmatch(r"Meshwarden[A-Z][A-Za-z]+", alert["alert"])
        assert isinstance(alert["expr"], str)
        assert "for" not in alert or DURATION.fullmatch(alert["for"]), alert["for"]
        assert alert["labels"]["severity"] in {"warning", "critical"}
        assert set(alert["annotations"]) == {"summary", "description"}
        assert all(isinstance(v, str) and v for v in alert["annotations"].values())


def readme_section() -> str:
    return README.read_text().split("## Metrics and alerts", 1)[1].split("\n## ", 1)[0]


def readme_yaml(after: str) -> object:
    """The first YAML block after `after` in the README's monitoring section."""
    block = re.search(r"```yaml\n(.*?)```", readme_section().split(after, 1)[1], re.DOTALL)
    assert block, f"no YAML block after {after!r}"
    return yaml.safe_load(block[1])


def test_readme_lists_exactly_the_alerts_of_the_prometheus_rule() -> None:
    shipped = [{k: a[k] for k in ("alert", "expr", "for") if k in a} for a in alerts(prometheus_rule())]
    assert readme_yaml("Alerts worth setting") == shipped


def leaves(tree: object, path: str = "") -> set[str]:
    if not isinstance(tree, dict) or not tree or path.endswith((".labels", ".annotations")):
        return {path}
    return {leaf for key, value in tree.items() for leaf in leaves(value, f"{path}.{key}" if path else key)}


def test_readme_shows_every_chart_value_the_monitoring_templates_read() -> None:
    read = {
        match
        for name in ("dashboard.yaml", "prometheusrule.yaml", "servicemonitor.yaml")
        for match in re.findall(r"\.Values\.(monitoring(?:\.\w+)+)", (CHART_TEMPLATES / name).read_text())
    }
    assert read >= {"monitoring.dashboard.enabled", "monitoring.prometheusRule.enabled"}
    assert leaves(readme_yaml("With the Helm chart")) == read


def test_readme_points_to_the_component_the_overlay_and_the_dashboard() -> None:
    section = readme_section()
    for mention in (
        "manifests/components/monitoring",
        "overlays/monitoring",
        str(DASHBOARD.relative_to(ROOT)),
    ):
        assert mention in section, mention


def test_component_lists_its_files() -> None:
    spec = yaml.safe_load((COMPONENT / "kustomization.yaml").read_text())
    [generator] = spec["configMapGenerator"]
    assert generator["files"] == [DASHBOARD.name]
    assert generator["options"]["labels"]["grafana_dashboard"] == "1"
    assert PROMETHEUS_RULE.name in spec["resources"]
