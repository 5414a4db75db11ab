"""Past its first 20,000 objects, `meshwarden check` keeps of each only what the inventory reads of
it, and the whole body of a checked one packed until its turn: the same findings in less memory."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from webhook import commands
from webhook.documents import read_text
from webhook.inputs import read_inputs
from webhook.inventory import Inventory, World
from webhook.inventory.detail import KEPT, Detail
from webhook.inventory.kept import compactor, kept_fields
from webhook.kinds import CRON_JOB, DEPLOYMENT, POD, SERVICE
from webhook.loader import LoadOptions, load, load_text
from webhook.model import GroupKind, Resource
from webhook.output.json_report import finding_dict
from webhook.replace import latest
from webhook.rules import CATALOGUE, Rule

TESTS = Path(__file__).resolve().parent
CORPORA = [TESTS / "istio_samples", TESTS / "samples" / "bookinfo", TESTS / "conformance"]

DEPLOYMENT_YAML = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: reviews
  labels: {app: reviews}
spec:
  replicas: 2
  selector:
    matchLabels: {app: reviews}
  template:
    metadata:
      labels: {app: reviews, version: v1}
      annotations: {sidecar.istio.io/rewriteAppHTTPProbers: "false"}
    spec:
      containers:
      - name: reviews
        image: reviews:1
        ports: [{containerPort: 9080, name: http}]
        env: [{name: LOG, value: debug}]
        readinessProbe:
          httpGet: {path: /health, port: 9080}
"""
CONFIG_MAP_YAML = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  big: value
"""
SERVICE_YAML = """\
apiVersion: v1
kind: Service
metadata:
  name: reviews
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080, targetPort: http}]
"""


def test_the_kept_fields_are_those_the_rules_declare_for_the_inventory() -> None:
    pod = KEPT[CATALOGUE.inputs[POD]]
    assert isinstance(pod, dict)
    template = {"metadata": pod["metadata"], "spec": pod["spec"]}
    assert kept_fields(CATALOGUE.inputs, POD) == pod
    assert kept_fields(CATALOGUE.inputs, DEPLOYMENT) == {
        **KEPT[Detail.METADATA],
        "spec": {"template": template},
    }
    assert kept_fields(CATALOGUE.inputs, CRON_JOB) == {
        **KEPT[Detail.METADATA],
        "spec": {"jobTemplate": {"spec": {"template": template}}},
    }
    assert kept_fields(CATALOGUE.inputs, SERVICE) is None  # read whole
    assert kept_fields(CATALOGUE.inputs, GroupKind("", "ConfigMap")) == KEPT[Detail.METADATA]


def _load(text: str) -> list[Resource]:
    """The objects of `text` as `check` keeps them, with Pods, Deployments and Services checked."""
    checked = {POD, DEPLOYMENT, SERVICE}
    options = LoadOptions(checked=lambda r: r.group_kind in checked, compact=compactor(CATALOGUE.inputs))
    return load(read_text(text), "x.yaml", options).resources


def test_a_checked_workload_keeps_its_template_metadata_and_ports_and_its_whole_body_packed() -> None:
    [compacted] = _load(DEPLOYMENT_YAML)
    [whole], _ = load_text(DEPLOYMENT_YAML, "x.yaml")
    assert compacted.body == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "reviews", "labels": {"app": "reviews"}},
        "spec": {
            "template": {
                "metadata": whole.body["spec"]["template"]["metadata"],
                "spec": {"containers": [{"ports": [{"containerPort": 9080, "name": "http"}]}]},
            }
        },
    }
    assert compacted.whole().body == whole.body
    assert (compacted.whole().ref, compacted.whole().origin) == (compacted.ref, compacted.origin)
    assert whole.whole() is whole


def test_an_unchecked_kind_keeps_its_metadata_and_a_kind_read_whole_keeps_everything() -> None:
    config_map, service = _load(CONFIG_MAP_YAML + "---\n" + SERVICE_YAML)
    assert config_map.body == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}}
    assert config_map.packed is None  # never checked: nothing to keep whole
    [whole_service], _ = load_text(SERVICE_YAML, "x.yaml")
    assert (service.body, service.packed) == (whole_service.body, None)


def _baseline(paths: list[str]) -> list[dict[str, Any]]:
    """The findings with every object kept as read, as `check` keeps its first 20,000."""
    args = commands._parser().parse_args(["check", "--format", "json", *paths])
    engine = commands.build_engine(args)
    options = LoadOptions(checked=lambda r: engine.covers(r.group_kind))
    resources, replacements = latest(read_inputs(paths, options).resources)
    report = commands.check_resources(engine, resources, World(Inventory(resources)), args, replacements)
    return [json.loads(json.dumps(finding_dict(f, report.finding_notes.get(f, ())))) for f in report.findings]


def _findings(paths: list[str]) -> list[dict[str, Any]]:
    out = io.StringIO()
    with redirect_stdout(out):
        commands.main(["check", "--format", "json", "--fail-on", "never", *paths])
    findings: list[dict[str, Any]] = json.loads(out.getvalue())["findings"]
    return findings


def test_check_finds_in_samples_what_it_finds_with_every_object_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(commands, "WHOLE_FIRST", 10)  # the first objects whole, as below 20,000
    paths = [str(p) for p in CORPORA]
    findings = _findings(paths)
    assert findings == _baseline(paths)
    assert len(findings) > 50


@pytest.mark.parametrize("which", ["bad", "good"])
@pytest.mark.parametrize("rule", list(CATALOGUE), ids=lambda r: r.code)
def test_check_finds_in_rule_examples_what_it_finds_with_every_object_whole(
    rule: Rule, which: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(commands, "WHOLE_FIRST", 0)
    path = tmp_path / f"{rule.code}-{which}.yaml"
    path.write_text(getattr(rule, which))
    assert _findings([str(path)]) == _baseline([str(path)])


def test_an_object_given_twice_gets_the_notes_it_gets_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(commands, "WHOLE_FIRST", 0)
    earlier, later = tmp_path / "a.yaml", tmp_path / "b.yaml"
    earlier.write_text(DEPLOYMENT_YAML.replace('"false"', '"true"'))
    later.write_text(DEPLOYMENT_YAML)
    paths = [str(earlier), str(later)]
    findings = _findings(paths)
    assert findings == _baseline(paths)
    assert any(f["notes"] for f in findings)  # the later Deployment's findings note the replacement


def test_the_first_objects_are_kept_as_read() -> None:
    compact = compactor(CATALOGUE.inputs, whole_first=1)
    [first], _ = load_text(DEPLOYMENT_YAML, "x.yaml")
    [second], _ = load_text(DEPLOYMENT_YAML, "x.yaml")
    body = dict(first.body)
    compact(first, True)
    compact(second, True)
    assert (first.body, first.packed) == (body, None)
    assert second.packed is not None and second.body != body
