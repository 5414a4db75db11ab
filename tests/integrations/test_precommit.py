"""The pre-commit hooks, as pre-commit itself installs and runs it from this repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRE_COMMIT = Path(sys.executable).parent / "pre-commit"

BAD = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec:
  hosts: ["shop.example.com"]
  gateways: ["./shop-gateway"]
  http:
  - route:
    - destination: {host: web}
"""
GOOD = """\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80}
"""
WORKFLOW = """\
name: ci
on: [push]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
    - run: make test
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def try_hook(tmp_path: Path, hook: str) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """A repository of one broken and one good manifest and a CI workflow, and pre-commit's run
    of `hook` from this repository over all its files."""
    repo = tmp_path / "repo"
    for name, text in {
        "deploy/virtualservice.yaml": BAD,
        "deploy/service.yaml": GOOD,
        ".github/workflows/ci.yaml": WORKFLOW,
    }.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "init", "--quiet")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "--quiet", "-m", "manifests")
    environment = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "PRE_COMMIT_COLOR": "never",
    }
    result = subprocess.run(
        [str(PRE_COMMIT), "try-repo", str(ROOT), hook, "--all-files", "--verbose"],
        cwd=repo,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return repo, result


def test_the_hook_fails_on_the_bad_manifest_only(tmp_path: Path) -> None:
    _, result = try_hook(tmp_path, "meshwarden")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "meshwarden" in output and "Failed" in output, output
    assert "deploy/virtualservice.yaml:6: deny MW302 [*] VirtualService shop/shop spec.gateways[0]" in output
    assert ".github/workflows/ci.yaml:1: note: skipped: no apiVersion and kind" in output
    assert "2 objects checked, 1 deny, 0 warn" in output
    assert "input error" not in output


def test_the_fix_hook_fixes_the_bad_manifest_and_fails_for_review(tmp_path: Path) -> None:
    repo, result = try_hook(tmp_path, "meshwarden-fix")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "files were modified by this hook" in output, output
    assert "deploy/virtualservice.yaml: fixed 1 finding (MW302 ×1)" in output
    assert (repo / "deploy/virtualservice.yaml").read_text() == BAD.replace(
        "./shop-gateway", "shop/shop-gateway"
    )
    assert (repo / "deploy/service.yaml").read_text() == GOOD
    assert (repo / ".github/workflows/ci.yaml").read_text() == WORKFLOW
    assert "2 objects checked, 0 deny, 0 warn" in output
