"""Repository walks: a directory of an ordinary repository checks without input errors; files that
are not Kubernetes objects by design are skipped with a note; what was named explicitly must
hold objects."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from webhook.commands import main

ROOT = Path(__file__).resolve().parent.parent
APP_REPO = Path(__file__).resolve().parent / "data" / "app-repo"
SERVICE = (
    "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  ports:\n  - port: 80\n"
)


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object], str]:
    code = main(["check", "--format", "json", *args])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def notes_by_file(report: dict[str, object], root: Path) -> dict[str, str]:
    return {os.path.relpath(note["file"], root): note["message"] for note in report["notes"]}


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_an_application_repository_checks_without_input_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, report, err = check(capsys, str(APP_REPO))
    assert code in (0, 1), err
    assert report["errors"] == []
    kustomize = "to check what it builds: kubectl kustomize {} | meshwarden check -"
    prod, staging = (str(APP_REPO / "deploy" / "overlays" / name) for name in ("prod", "staging"))
    assert notes_by_file(report, APP_REPO) == {
        ".github/dependabot.yml": "skipped: no apiVersion and kind",
        ".github/workflows/ci.yaml": "skipped: no apiVersion and kind",
        ".gitlab-ci.yml": "skipped: YAML tag !reference of another tool, not a Kubernetes manifest",
        ".pre-commit-config.yaml": "skipped: no apiVersion and kind",
        "charts/shop": "a Helm chart: 5 files (Chart.yaml, values, templates) not checked unrendered; "
        f"to check what it renders: helm template {APP_REPO / 'charts' / 'shop'} | meshwarden check -",
        "charts/shop/ci/lint-values.yaml": "skipped: no apiVersion and kind",
        "config/app.yaml": "skipped: no apiVersion and kind",
        "config/renovate.json": "skipped: no apiVersion and kind",
        "deploy/base/kustomization.yaml": "skipped: a kustomization; "
        + kustomize.format(APP_REPO / "deploy" / "base"),
        "deploy/components/tracing/kustomization.yaml": "skipped: a kustomize Component, "
        "built into the kustomizations that use it",
        "deploy/components/tracing/tracing.yaml": "skipped: a patch in "
        f"{APP_REPO / 'deploy/components/tracing/kustomization.yaml'}, not a whole object",
        "deploy/overlays/prod/image.json": f"skipped: a patch in {prod}/kustomization.yaml, not a whole "
        f"object; {kustomize.format(prod)}",
        "deploy/overlays/prod/kustomization.yaml": f"skipped: a kustomization; {kustomize.format(prod)}",
        "deploy/overlays/prod/replicas.yaml": f"skipped: a patch in {prod}/kustomization.yaml, not a whole "
        f"object; {kustomize.format(prod)}",
        "deploy/overlays/staging/kustomization.yml": f"skipped: a kustomization; {kustomize.format(staging)}",
        "deploy/overlays/staging/staging-resources.yaml": f"skipped: a patch in {staging}/kustomization.yml, "
        f"not a whole object; {kustomize.format(staging)}",
        "docker-compose.yml": "skipped: no apiVersion and kind",
        "infra/bucket.yaml": "skipped: YAML tag !Sub of another tool, not a Kubernetes manifest",
        "config/seed-ratings.json": "skipped: YAML syntax error: did not find expected <document start> "
        "in a file without apiVersion or kind: not a manifest",
        "infra/istio-operator.yaml": "skipped: IstioOperator (install.istio.io/v1alpha1) without a name: "
        "a tool's configuration, not an object",
        "infra/kind-cluster.yaml": "skipped: Cluster (kind.x-k8s.io/v1alpha4) without a name: "
        "a tool's configuration, not an object",
    }
    assert report["summary"]["objects"] == 5
    assert report["summary"]["skippedFiles"] == 25
    assert report["summary"]["skippedKinds"] == {}
    assert "half-edited" not in err  # left out by the repository's .meshwardenignore


def test_a_parse_error_in_a_walked_file_stays_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(APP_REPO, repo)
    (repo / ".meshwardenignore").unlink()
    code, report, _ = check(capsys, str(repo))
    assert code == 2
    assert report["errors"] == [
        {
            "file": str(repo / "tmp" / "half-edited.yaml"),
            "line": 5,
            "message": "YAML syntax error: did not find expected node content",
        }
    ]


def test_meshwardens_own_examples_and_manifests_check_without_input_errors(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    for directory in ("examples/", "manifests/"):
        code, report, err = check(capsys, directory)
        assert code in (0, 1), err
        assert report["errors"] == []
        assert report["summary"]["objects"] > 0


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("kustomization.yaml", "resources: [a.yaml]\n", "not a Kubernetes object: a kustomization; to check"),
        ("ci.yaml", "on: push\njobs: {}\n", "not a Kubernetes object: no apiVersion and kind"),
        (
            ".gitlab-ci.yml",
            "a:\n  script: !reference [.b, script]\n",
            "YAML tag !reference is not Kubernetes",
        ),
        ("empty.yaml", "# nothing yet\n", "holds no Kubernetes object"),
    ],
)
def test_a_file_named_explicitly_must_hold_kubernetes_objects(
    name: str, text: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / name
    path.write_text(text)
    code, report, _ = check(capsys, str(path))
    assert code == 2
    [error] = report["errors"]
    assert message in error["message"]


def test_a_walked_manifest_with_a_document_that_is_no_object_is_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, {"all.yaml": SERVICE + "---\nname: stray\n"})
    code, report, _ = check(capsys, str(tmp_path))
    assert code == 2
    assert report["errors"] == [
        {
            "file": str(tmp_path / "all.yaml"),
            "line": 8,
            "message": "not a Kubernetes object: no apiVersion and kind",
        }
    ]


def test_exclude_and_meshwardenignore_leave_paths_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        tmp_path,
        {
            "apps/web.yaml": SERVICE,
            "apps/api.yaml": SERVICE.replace("web", "api"),
            "apps/broken.yaml": "a: [\n",
            "vendor/thing/broken.yaml": "a: [\n",
            "generated/out.yaml": "a: [\n",
            "generated/keep.yaml": SERVICE.replace("web", "kept"),
            ".meshwardenignore": "# generated by tools\ngenerated/*\n!generated/keep.yaml\nvendor/\n",
        },
    )
    code, report, _ = check(capsys, str(tmp_path), "--exclude", "broken.yaml", "--exclude", "apps/api.*")
    assert code == 0, report["errors"]
    assert [f["object"]["name"] for f in report["findings"]] == ["web", "kept"]
    assert report["notes"] == []


def test_helm_templates_are_not_read_unrendered(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\n"
    write(
        tmp_path,
        {"chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n", "chart/templates/s.yaml": template},
    )
    code, report, _ = check(capsys, str(tmp_path / "chart" / "templates"))
    assert (code, report["errors"]) == (0, [])
    [note] = report["notes"]
    assert note["file"] == os.path.relpath(tmp_path / "chart")
    assert note["message"].startswith("a Helm chart: 1 file (Chart.yaml, values, templates) not checked")
    write(tmp_path, {"loose/s.yaml": template})
    code, report, _ = check(capsys, str(tmp_path / "loose"))
    assert code == 2
    [error] = report["errors"]
    assert error["line"] == 4
    assert error["message"].endswith(
        "(an unrendered template? pipe `helm template CHART` into meshwarden check -)"
    )


def test_version_control_directories_are_not_walked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, {"svc.yaml": SERVICE, ".git/config.yaml": "a: [\n"})
    code, report, _ = check(capsys, str(tmp_path))
    assert (code, report["errors"], report["notes"]) == (0, [], [])


def test_named_files_with_skip_non_manifests_are_read_as_the_walk_reads_them(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """pre-commit names a repository's files one by one: with --skip-non-manifests they give what
    walking the repository gives (tmp/ is left out by the repository's .meshwardenignore)."""
    monkeypatch.chdir(APP_REPO)
    files = sorted(
        str(path.relative_to(APP_REPO))
        for path in APP_REPO.rglob("*")
        if path.suffix in (".yaml", ".yml", ".json") and path.parts[len(APP_REPO.parts)] != "tmp"
    )
    walked = check(capsys, ".")
    named = check(capsys, "--skip-non-manifests", *files)
    assert named[0] == walked[0] == 0
    assert named[1]["errors"] == []
    assert named[1]["summary"] == walked[1]["summary"]
    assert {n["file"]: n["message"] for n in named[1]["notes"]} == {
        os.path.normpath(n["file"]): n["message"].replace("./", "") for n in walked[1]["notes"]
    }
    assert check(capsys, *files)[0] == 2, "without the flag, a named file must hold objects"
