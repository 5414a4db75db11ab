"""Rendered manifests read from a pipe point to their sources: the template that Helm's
`# Source:` comment names, the file that kustomize's origin annotation names."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.test_manifests import find_kubectl

HELM_TEMPLATE_OUTPUT = """\
---
# Source: shop/templates/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: release-name-shop
---
# Source: shop/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: release-name-shop
  labels:
    app.kubernetes.io/name: shop
spec:
  type: ClusterIP
  ports:
    - port: 80
      targetPort: http
  selector:
    app.kubernetes.io/name: shop
"""


def check(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "webhook", "check", "--format", "json", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_helm_output_on_standard_input_points_to_the_templates() -> None:
    result = check("-", stdin=HELM_TEMPLATE_OUTPUT)
    [finding] = json.loads(result.stdout)["findings"]
    assert (finding["code"], finding["file"], finding["line"]) == ("MW201", "shop/templates/service.yaml", 10)


def test_helm_output_saved_to_a_file_is_its_own_place(tmp_path: Path) -> None:
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(HELM_TEMPLATE_OUTPUT)
    result = check(str(rendered), stdin="")
    [finding] = json.loads(result.stdout)["findings"]
    assert (finding["file"], finding["line"]) == (str(rendered), 18)


def test_kustomize_output_points_to_the_files_its_origin_annotations_name(tmp_path: Path) -> None:
    base, overlay = tmp_path / "base", tmp_path / "overlays" / "prod"
    base.mkdir()
    overlay.mkdir(parents=True)
    (base / "kustomization.yaml").write_text("resources: [service.yaml]\n")
    (base / "service.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: 80}]\n"
    )
    (overlay / "kustomization.yaml").write_text(
        "namespace: prod\nbuildMetadata: [originAnnotations]\nresources: [../../base]\n"
        "configMapGenerator: [{name: settings, literals: [a=b]}]\n"
    )
    rendered = subprocess.run(
        [find_kubectl(), "kustomize", str(overlay)], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert "config.kubernetes.io/origin" in rendered
    result = check("-", stdin=rendered)
    report = json.loads(result.stdout)
    [finding] = report["findings"]
    assert (finding["code"], finding["file"], finding["line"]) == ("MW201", "../../base/service.yaml", None)
    assert finding["object"]["namespace"] == "prod"
    assert report["summary"]["skippedKinds"] == {"ConfigMap": 1}
