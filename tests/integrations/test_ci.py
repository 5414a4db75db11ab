"""The GitHub Action and the CI examples: valid against the services' published schemas, shown
in the README as they are, and their shell steps do what they say when run here."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
EXPRESSION = re.compile(r"^\$\{\{ (inputs|steps\.[\w-]+\.outputs)\.([\w-]+) \}\}$")
GITHUB_BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]
"""How GitHub Actions runs a `shell: bash` step (and GitLab's runner, near enough)."""


@pytest.mark.parametrize(
    ("file", "schema"),
    [
        ("action.yml", "vendor.github-actions"),
        ("examples/ci/github-workflow.yml", "vendor.github-workflows"),
        ("examples/ci/gitlab-ci.yml", "vendor.gitlab-ci"),
    ],
)
def test_validates_against_the_published_schema(file: str, schema: str) -> None:
    result = subprocess.run(
        [str(VENV_BIN / "check-jsonschema"), "--builtin-schema", schema, str(ROOT / file)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("file", ["examples/ci/github-workflow.yml", "examples/ci/gitlab-ci.yml"])
def test_the_readme_shows_the_ci_example_as_it_is(file: str) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"```yaml\n{(ROOT / file).read_text(encoding='utf-8')}```" in readme


def step(name: str) -> dict[str, Any]:
    [found] = [s for s in ACTION["runs"]["steps"] if s["name"] == name]
    return found


def run_step(
    name: str, cwd: Path, environment: dict[str, str], inputs: dict[str, str], outputs: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Runs a step's script as GitHub would: its `env:` expressions filled in from `inputs` (or
    the action's defaults) and from earlier steps' `outputs`; returns what it wrote to
    $GITHUB_OUTPUT."""
    current = step(name)
    env = dict(environment)
    for variable, expression in current.get("env", {}).items():
        match = EXPRESSION.match(expression)
        assert match, expression
        source, key = match.groups()
        env[variable] = (
            inputs.get(key, ACTION["inputs"][key]["default"]) if source == "inputs" else outputs[key]
        )
    output_file = cwd / ".github-output"
    output_file.write_text("")
    env["GITHUB_OUTPUT"] = str(output_file)
    result = subprocess.run(
        [*GITHUB_BASH, "-c", current["run"]], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    written = dict(line.split("=", 1) for line in output_file.read_text().splitlines())
    output_file.unlink()
    return result, written


@pytest.fixture(scope="module")
def action_environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The job's environment after the action's install step, run for real: Meshwarden installed
    from this repository into a new virtual environment that $GITHUB_PATH puts on the PATH."""
    runner_temp = tmp_path_factory.mktemp("runner-temp")
    github_path = runner_temp / "github-path"
    environment = {
        **os.environ,
        "RUNNER_TEMP": str(runner_temp),
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_PATH": str(github_path),
    }
    result, _ = run_step("Install Meshwarden", runner_temp, environment, {}, {"python-path": sys.executable})
    assert result.returncode == 0, result.stdout + result.stderr
    [bin_directory] = github_path.read_text().splitlines()
    assert (Path(bin_directory) / "meshwarden").is_file()
    return {**environment, "PATH": f"{bin_directory}{os.pathsep}{os.environ['PATH']}"}


def test_the_action_reports_sarif_findings_and_fails_the_job(
    action_environment: dict[str, str], tmp_path: Path
) -> None:
    inputs = {"paths": str(ROOT / "examples" / "bookinfo")}
    result, outputs = run_step("meshwarden check", tmp_path, action_environment, inputs, {})
    assert result.returncode == 0, result.stderr
    assert outputs == {"exit-code": "1", "report": "meshwarden.sarif"}
    sarif = json.loads((tmp_path / "meshwarden.sarif").read_text())
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} == {"MW201", "MW301", "MW304", "MW305"}
    failed, _ = run_step("Fail on findings", tmp_path, action_environment, inputs, outputs)
    assert failed.returncode == 1
    assert "::error::Meshwarden: findings at or above deny" in failed.stdout


def test_the_action_checks_a_rendered_overlay_into_junit(
    action_environment: dict[str, str], tmp_path: Path
) -> None:
    report = tmp_path / "overlay.xml"
    inputs = {
        "render": "kubectl kustomize manifests/overlays/fail-closed",
        "config": "manifests/base/policy.yaml",
        "format": "junit",
        "output": str(report),
    }
    result, outputs = run_step("meshwarden check", ROOT, action_environment, inputs, {})
    assert result.returncode == 0, result.stderr
    assert outputs == {"exit-code": "0", "report": str(report)}
    cases = ET.parse(report).getroot().iter("testcase")
    assert {(c.get("classname"), c.get("name")) for c in cases} == {
        ("Namespace", "meshwarden"),
        ("Service", "meshwarden/meshwarden"),
        ("Deployment", "meshwarden/meshwarden"),
    }
    passed, _ = run_step("Fail on findings", tmp_path, action_environment, inputs, outputs)
    assert passed.returncode == 0, passed.stdout


def test_the_action_passes_extra_args_without_globbing(
    action_environment: dict[str, str], tmp_path: Path
) -> None:
    # a path the shell would expand the pattern to, leaving MW305 unsuppressed on reviews
    (tmp_path / "MW305=VirtualService" / "bookinfo" / "other").mkdir(parents=True)
    inputs = {
        "paths": str(ROOT / "examples" / "bookinfo"),
        "format": "text",
        "args": "--suppress MW305=VirtualService/*/*\n--suppress MW301",
    }
    result, outputs = run_step("meshwarden check", tmp_path, action_environment, inputs, {})
    assert outputs["exit-code"] == "0", result.stdout + result.stderr
    assert "7 objects checked, 0 deny, 2 warn, 2 suppressed" in result.stdout


def test_the_action_reports_a_failed_render_as_an_input_error(
    action_environment: dict[str, str], tmp_path: Path
) -> None:
    inputs = {"render": "echo 'apiVersion: v1'; exit 3", "upload-sarif": "false"}
    result, outputs = run_step("meshwarden check", tmp_path, action_environment, inputs, {})
    assert outputs["exit-code"] == "2"
    assert "::error::the render command failed with exit status 3" in result.stdout
    failed, _ = run_step("Fail on findings", tmp_path, action_environment, inputs, outputs)
    assert failed.returncode == 2


HELM_TEMPLATE = """
import sys, helm_python
rendered = helm_python.Chart.load("charts/meshwarden").render({}, name="meshwarden", namespace="meshwarden")
for path, text in rendered.items():
    if path.endswith(".yaml") and text.strip():
        sys.stdout.write(f"---\\n# Source: {path}\\n{text.strip()}\\n")
"""


def test_the_gitlab_example_writes_a_junit_report_per_rendering(tmp_path: Path) -> None:
    """The job's script, run in a copy of the repository's manifests and chart; helm, which is not
    installed here, is stood in for by Helm's own engine (helm-python-sdk) printing the chart as
    `helm template` does."""
    script = yaml.safe_load((ROOT / "examples" / "ci" / "gitlab-ci.yml").read_text())["meshwarden"]["script"]
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    shutil.copytree(ROOT / "charts", tmp_path / "charts")
    tools = tmp_path / "tools"
    tools.mkdir()
    helm = tools / "helm"
    helm.write_text(
        '#!/bin/sh\n[ "$*" = "template charts/meshwarden" ] || exit 64\n'
        f"exec {sys.executable} -c '{HELM_TEMPLATE}'\n"
    )
    helm.chmod(0o755)
    path = os.pathsep.join([str(tools), str(VENV_BIN), os.environ["PATH"]])
    result = subprocess.run(
        [*GITHUB_BASH, "-c", "\n".join(script)],
        cwd=tmp_path,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    reports = sorted(p.name for p in tmp_path.glob("meshwarden-*.xml"))
    overlays = (ROOT / "manifests" / "overlays").iterdir()
    assert reports == sorted(["meshwarden-chart.xml", *(f"meshwarden-{o.name}.xml" for o in overlays)])
    chart_files = {c.get("file") for c in ET.parse(tmp_path / "meshwarden-chart.xml").iter("testcase")}
    assert chart_files == {"meshwarden/templates/service.yaml", "meshwarden/templates/deployment.yaml"}
    for report in reports:
        assert ET.parse(tmp_path / report).getroot().find("testsuite") is not None
