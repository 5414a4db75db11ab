"""`meshwarden fix` as a user runs it, and its guarantees for every rule that has a fix: the
finding goes, nothing new appears on objects that had no finding, a second run changes nothing,
and the text outside the edited fields stays byte for byte."""

from __future__ import annotations

import difflib
import io
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.test_docs import EXAMPLE_POLICY
from webhook import fixing
from webhook.commands import main
from webhook.engine import Engine
from webhook.findings import Action, Autofix, Edit, Safety, Violation
from webhook.inventory import Inventory, World
from webhook.kinds import SERVICE
from webhook.loader import LoadOptions
from webhook.model import Resource
from webhook.policy import Policy
from webhook.rules import CATALOGUE, Catalogue, Rule
from webhook.rules.registry import Context, rule

ROOT = Path(__file__).resolve().parent.parent
SARIF_SCHEMA = Path(__file__).resolve().parent / "data" / "sarif" / "sarif-schema-2.1.0.json"
FIXABLE = [rule for rule in CATALOGUE if rule.fixes]

UNSAFE_ONLY = """\
# MW304 only: adding "mesh" changes which requests the routes take
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["shop/*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  gateways: [public]
  http:
  - route:
    - destination: {host: reviews}
"""

SERVICES = """\
# two Services, three ports to fix
apiVersion: v1
kind: Service
metadata:
  name: reviews
spec:
  ports:
  - port: 9080   # no name
---
apiVersion: v1
kind: Service
metadata:
  name: db
  namespace: shop
spec:
  ports:
  - name: web
    port: 80
  - name: jaeger-collector-http
    port: 14268
  - name: other
    port: 1234
"""
FIXED_SERVICES = (
    SERVICES.replace("  - port: 9080   # no name\n", "  - port: 9080   # no name\n    name: http\n")
    .replace("    port: 80\n", "    port: 80\n    appProtocol: http\n")
    .replace("    port: 14268\n", "    port: 14268\n    appProtocol: http\n")
)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def check_json(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    code, out, err = run_cli(capsys, "check", "--format", "json", "--fail-on", "never", *args)
    assert code == 0, err
    findings: list[dict[str, Any]] = json.loads(out)["findings"]
    return findings


def texts(root: Path) -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in sorted(root.rglob("*")) if p.is_file()}


def object_key(finding: dict[str, Any]) -> tuple[str, str, str]:
    ref = finding["object"]
    return ref["kind"], ref["namespace"], ref["name"]


def assert_only_edited_lines_changed(before: str, after: str, edits: list[dict[str, Any]]) -> None:
    """Each line the fixes took out or rewrote holds a field an edit names (a key on its path, or its
    old value): the rest of the text stays byte for byte."""
    marks = {key for e in edits for key in e["path"] if isinstance(key, str)}
    marks |= {str(e["old"]) for e in edits if isinstance(e["old"], (str, int))}
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    for tag, i1, i2, _, _ in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            for line in before.splitlines()[i1:i2]:
                assert any(mark in line for mark in marks), f"line not edited by any fix changed: {line!r}"


def taken(findings: list[dict[str, Any]], unsafe: bool) -> list[dict[str, Any]]:
    return [
        f
        for f in findings
        if f["autofix"] and not f["suppressed"] and (unsafe or f["autofix"]["safety"] == Safety.SAFE)
    ]


# -- guarantees, for every rule with a fix


@pytest.mark.parametrize("rule", FIXABLE, ids=lambda r: r.code)
def test_the_bad_example_is_fixed_for_good(
    rule: Rule, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(EXAMPLE_POLICY)
    manifest = tmp_path / "bad.yaml"
    manifest.write_text(rule.bad)
    unsafe = Safety.UNSAFE in rule.fixes.values()
    flags = ["--config", str(policy), *(["--unsafe-fixes"] if unsafe else [])]
    before = check_json(capsys, str(manifest), "--config", str(policy))
    assert taken([f for f in before if f["code"] == rule.code], unsafe), "the bad example offers no fix"

    code, _, err = run_cli(capsys, "fix", str(manifest), "--fail-on", "never", *flags)
    assert code == 0, err
    fixed = manifest.read_text()
    after = check_json(capsys, str(manifest), "--config", str(policy))
    assert rule.code not in {f["code"] for f in after}, fixed
    assert list(yaml.safe_load_all(fixed)) == list(yaml.safe_load_all(rule.good)), fixed
    had_findings = {object_key(f) for f in before}
    assert all(object_key(f) in had_findings for f in after), after
    assert_only_edited_lines_changed(
        rule.bad, fixed, [e for f in taken(before, unsafe) for e in f["autofix"]["edits"]]
    )

    code, _, _ = run_cli(capsys, "fix", str(manifest), "--fail-on", "never", *flags)
    assert manifest.read_text() == fixed, "a second fix changed the file"


@pytest.mark.parametrize(
    "corpus", [ROOT / "examples", ROOT / "tests" / "conformance"], ids=["examples", "conformance"]
)
def test_a_corpus_fixed_with_safe_fixes_keeps_only_unfixable_findings(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / corpus.name
    shutil.copytree(corpus, root)
    original = texts(root)
    before = check_json(capsys, str(root))

    run_cli(capsys, "fix", str(root), "--fail-on", "never")
    fixed = texts(root)
    assert fixed != original
    after = check_json(capsys, str(root))
    assert not taken(after, unsafe=False), "safe fixes left"
    had_findings = {object_key(f) for f in before}
    assert all(object_key(f) in had_findings for f in after)
    for path, text in original.items():
        edits = [
            e for f in taken(before, unsafe=False) if f["file"] == str(path) for e in f["autofix"]["edits"]
        ]
        assert_only_edited_lines_changed(text, fixed[path], edits)

    run_cli(capsys, "fix", str(root), "--fail-on", "never")
    assert texts(root) == fixed, "a second fix changed files"


def test_several_fixes_in_one_file_all_apply(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "services.yaml"
    path.write_text(SERVICES)
    code, out, err = run_cli(capsys, "fix", str(path), "--fail-on", "warn")
    assert path.read_text() == FIXED_SERVICES
    assert f"{path}: fixed 3 findings (MW201 ×3)" in err
    assert code == 1  # the port whose protocol nothing tells is left, and reported
    assert 'spec.ports[2]: port 1234 is named "other"' in out
    assert "[*]" not in out


def test_a_file_that_does_not_parse_is_left_untouched_and_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SERVICES + "---\napiVersion: v1\nkind: Service\nmetadata: {name: [broken\n"
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    code, _, err = run_cli(capsys, "fix", str(path))
    assert path.read_text() == text
    assert code == 2
    assert f"{path}:26: note: not fixed: YAML syntax error" in err


def test_templates_and_kustomize_patches_are_never_edited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 1.0.0\n")
    (chart / "templates" / "svc.yaml").write_text(SERVICES)
    (tmp_path / "kustomization.yaml").write_text("resources: []\npatches:\n- path: patch.yaml\n")
    (tmp_path / "patch.yaml").write_text(SERVICES)
    before = texts(tmp_path)
    for target in (tmp_path, chart / "templates" / "svc.yaml", tmp_path / "patch.yaml"):
        run_cli(capsys, "fix", str(target))
        assert texts(tmp_path) == before


def test_a_named_pipe_is_checked_but_never_edited(tmp_path: Path) -> None:
    (tmp_path / "svc.yaml").write_text(SERVICES)
    script = f"{sys.executable} -m webhook fix <(printf '# Source: svc.yaml\\n%s' \"$(cat svc.yaml)\")"
    result = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert (tmp_path / "svc.yaml").read_text() == SERVICES
    assert "a stream, not a file: not fixed (fix it with `meshwarden fix -`)" in result.stderr
    assert "warn MW201 [*] Service default/reviews" in result.stdout


@rule(
    code="MW990",
    name="test-labels",
    kinds={SERVICE},
    default=Action.WARN,
    messages={"label-missing": "a Service without the label"},
    summary="s",
    why="w",
    fix="f",
    bad="b",
    good="g",
    fixes={"label-missing": Safety.SAFE},
)
def _labels_rule(service: Resource, context: Context) -> Iterator[Violation]:
    """Two fixes that both create `metadata.labels`: they overlap, so one waits for a second pass."""
    for label in ("team", "tier"):
        if label not in service.labels:
            edit = Edit(("metadata", "labels", label), None, "x")
            autofix = Autofix(f"add label {label}", (edit,), Safety.SAFE)
            yield Violation(
                f"metadata.labels.{label}", "no label", "add it", message_id="label-missing", autofix=autofix
            )


@rule(
    code="MW991",
    name="test-tier-without-team",
    kinds={SERVICE},
    default=Action.WARN,
    messages={"tier-without-team": "a Service labelled with a tier and no team"},
    summary="s",
    why="w",
    fix="f",
    bad="b",
    good="g",
)
def _tier_rule(service: Resource, context: Context) -> Iterator[Violation]:
    if service.labels.get("tier") == "x":
        yield Violation("metadata.labels", "no owner", "ask", message_id="tier-without-team")


def test_findings_the_fixes_reveal_are_told_apart(tmp_path: Path) -> None:
    path = tmp_path / "svc.yaml"
    path.write_text("apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  labels: {team: x}\n")
    engine = Engine(Policy(), Catalogue([_labels_rule, _tier_rule]))
    outcome = fixing.fix([str(path)], engine, LoadOptions(), fixing.Choice(), max_size=1 << 20)
    after = engine.check_all(outcome.resources, World(Inventory(outcome.resources)))
    assert [f.message_id for f in outcome.revealed(after)] == ["MW991/tier-without-team"]


def test_fixes_that_overlap_are_applied_in_later_passes(tmp_path: Path) -> None:
    path = tmp_path / "svc.yaml"
    path.write_text("apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n")
    engine = Engine(Policy(), Catalogue([_labels_rule]))
    outcome = fixing.fix([str(path)], engine, LoadOptions(), fixing.Choice(), max_size=1 << 20)
    [fixed] = outcome.files.values()
    assert (
        fixed.text
        == "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  labels:\n    team: x\n    tier: x\n"
    )
    assert fixed.fixed == {"MW990": 2}


# -- the command's options


def test_diff_prints_the_fix_and_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "services.yaml"
    path.write_text(SERVICES)
    code, out, _ = run_cli(capsys, "fix", "--diff", str(path))
    assert code == 1
    assert path.read_text() == SERVICES
    assert out == "".join(
        difflib.unified_diff(
            SERVICES.splitlines(keepends=True),
            FIXED_SERVICES.splitlines(keepends=True),
            f"a/{path}" if not path.is_absolute() else str(path),
            f"b/{path}" if not path.is_absolute() else str(path),
        )
    )


def test_check_exits_1_while_a_fix_is_available(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "services.yaml"
    path.write_text(SERVICES)
    code, _, err = run_cli(capsys, "fix", "--check", str(path))
    assert (code, path.read_text()) == (1, SERVICES)
    assert f"{path}: would fix 3 findings (MW201 ×3)" in err
    path.write_text(FIXED_SERVICES)
    assert run_cli(capsys, "fix", "--check", str(path))[0] == 0


def test_select_and_ignore_take_codes_and_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "services.yaml"
    path.write_text(SERVICES)
    assert run_cli(capsys, "fix", "--check", "--ignore", "service-port-protocol", str(path))[0] == 0
    assert run_cli(capsys, "fix", "--check", "--select", "MW201,MW301", str(path))[0] == 1
    assert run_cli(capsys, "fix", "--check", "--select", "mw201", "--ignore", "MW201", str(path))[0] == 0
    code, _, err = run_cli(capsys, "fix", "--select", "MW999", str(path))
    assert code == 2
    assert "--select: no rule has the code or name 'MW999'" in err


def test_suppressed_findings_and_rules_the_policy_turns_off_are_not_fixed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suppressed = SERVICES.replace(
        "  name: reviews\n", '  name: reviews\n  annotations:\n    meshwarden.io/suppress: "MW201"\n'
    )
    path = tmp_path / "services.yaml"
    path.write_text(suppressed)
    run_cli(capsys, "fix", str(path), "--suppress", "MW201=Service/shop/*")
    assert path.read_text() == suppressed
    policy = tmp_path / "policy.yaml"
    policy.write_text("rules:\n  MW201: off\n")
    path.write_text(SERVICES)
    run_cli(capsys, "fix", str(path), "--config", str(policy))
    assert path.read_text() == SERVICES
    policy.write_text("exemptNamespaces: [shop]\n")
    run_cli(capsys, "fix", str(path), "--config", str(policy))
    assert path.read_text() == FIXED_SERVICES.replace(
        "    port: 80\n    appProtocol: http\n", "    port: 80\n"
    ).replace("    port: 14268\n    appProtocol: http\n", "    port: 14268\n")


def test_standard_input_is_fixed_to_standard_output(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(SERVICES.encode())))
    code, out, err = run_cli(capsys, "fix", "-")
    assert out == FIXED_SERVICES
    assert "stdin: fixed 3 findings (MW201 ×3)" in err
    assert "-:24: warn MW201 Service shop/db spec.ports[2]" in err
    assert code == 0


def test_empty_standard_input_is_an_input_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    code, out, err = run_cli(capsys, "fix", "-")
    assert (code, out) == (2, "")
    assert "-: standard input holds no Kubernetes object" in err


def test_json_files_stay_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "a"},
        "spec": {"ports": [{"port": 80}]},
    }
    path = tmp_path / "svc.json"
    path.write_text(json.dumps(service, indent=2) + "\n")
    run_cli(capsys, "fix", str(path))
    service["spec"]["ports"][0]["name"] = "http"  # type: ignore[index]
    assert json.loads(path.read_text()) == service


def test_findings_revealed_by_the_fixes_are_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "services.yaml"
    path.write_text(SERVICES)
    code, out, _ = run_cli(capsys, "fix", str(path), "--fail-on", "never")
    assert code == 0
    assert "revealed by the fixes" not in out  # the remaining port was reported before the fixes too


# -- fixes in the outputs of check


def test_text_marks_fixable_findings_and_counts_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "services.yaml"
    path.write_text(SERVICES)
    _, out, _ = run_cli(capsys, "check", str(path))
    lines = out.splitlines()
    assert sum(" MW201 [*] " in line for line in lines) == 3
    assert sum(" MW201 Service" in line for line in lines) == 1
    assert lines[-1] == "[*] 3 fixable with `meshwarden fix`"


def test_text_counts_unsafe_fixes_alone_without_a_safe_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "reviews.yaml"
    path.write_text(UNSAFE_ONLY)
    _, out, _ = run_cli(capsys, "check", str(path))
    assert out.splitlines()[-1] == "1 fixable with `meshwarden fix --unsafe-fixes`"


def test_json_carries_each_fix_as_edits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "services.yaml"
    path.write_text(SERVICES)
    findings = check_json(capsys, str(path))
    assert [f["autofix"] for f in findings] == [
        {
            "title": 'name port 9080 "http"',
            "safety": "safe",
            "edits": [{"path": ["spec", "ports", 0, "name"], "old": None, "new": "http"}],
        },
        {
            "title": 'set appProtocol "http" on port 80 ("web")',
            "safety": "safe",
            "edits": [{"path": ["spec", "ports", 0, "appProtocol"], "old": None, "new": "http"}],
        },
        {
            "title": 'set appProtocol "http" on port 14268 ("jaeger-collector-http")',
            "safety": "safe",
            "edits": [{"path": ["spec", "ports", 1, "appProtocol"], "old": None, "new": "http"}],
        },
        None,
    ]


def test_sarif_fixes_validate_and_make_what_fix_makes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "services.yaml"
    path.write_text(SERVICES)
    _, out, _ = run_cli(capsys, "check", "--format", "sarif", str(path))
    sarif = json.loads(out)
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(sarif)
    changes = [
        (change["artifactLocation"]["uri"], replacement)
        for result in sarif["runs"][0]["results"]
        for fix in result.get("fixes", [])
        for change in fix["artifactChanges"]
        for replacement in change["replacements"]
    ]
    assert len(changes) == 3
    lines = SERVICES.splitlines(keepends=True)
    offsets = [sum(len(line) for line in lines[:i]) for i in range(len(lines) + 1)]
    text = SERVICES
    for uri, replacement in sorted(changes, key=lambda c: c[1]["deletedRegion"]["startLine"], reverse=True):
        assert uri == str(path)
        region = replacement["deletedRegion"]
        start = offsets[region["startLine"] - 1] + region["startColumn"] - 1
        end = offsets[region["endLine"] - 1] + region["endColumn"] - 1
        text = text[:start] + replacement["insertedContent"]["text"] + text[end:]
    assert text == FIXED_SERVICES


def test_explain_lists_the_fixes_and_their_safety(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_cli(capsys, "explain", "MW201")
    assert "Fixes: safe, applied by `meshwarden fix`" in out
    assert "`MW201/port-unnamed`: a port with neither a name nor an `appProtocol` (*safe fix*)" in out


def test_every_fix_loads_back_as_the_edit_says(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "services.yaml"
    path.write_text(SERVICES)
    run_cli(capsys, "fix", str(path))
    reviews, db = yaml.safe_load_all(path.read_text())
    assert reviews["spec"]["ports"] == [{"port": 9080, "name": "http"}]
    assert [p.get("appProtocol") for p in db["spec"]["ports"]] == ["http", "http", None]
