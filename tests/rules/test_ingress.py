"""MW601 ingress-nginx-mesh-upstream."""

import pytest

from tests.helpers import only, run, said
from webhook.findings import Autofix, Edit, Safety

MESHED = "ingressNginx: {meshed: true}"
SERVICE_UPSTREAM = "nginx.ingress.kubernetes.io/service-upstream"
UPSTREAM_VHOST = "nginx.ingress.kubernetes.io/upstream-vhost"


def ingress(
    annotations: str = "{}", class_name: str = "nginx", backends: tuple[str, ...] = ("frontend",)
) -> str:
    paths = "".join(
        f"""
              - path: /{name}
                pathType: Prefix
                backend:
                  service: {{name: {name}, port: {{number: 80}}}}"""
        for name in backends
    )
    class_line = f"ingressClassName: {class_name}" if class_name else ""
    return f"""
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: shop
          namespace: web
          annotations: {annotations}
        spec:
          {class_line}
          rules:
          - host: shop.example.com
            http:
              paths:{paths}
    """


MESH_READY = f'{{{SERVICE_UPSTREAM}: "true", {UPSTREAM_VHOST}: frontend.web.svc.cluster.local}}'


def test_rule_is_off_unless_the_controller_is_meshed() -> None:
    assert only(run(ingress()), "MW601") == []


def test_mesh_ready_ingress_passes() -> None:
    assert only(run(ingress(MESH_READY), policy=MESHED), "MW601") == []


def test_missing_annotations_are_one_finding() -> None:
    findings = only(run(ingress(), policy=MESHED), "MW601")
    assert said(findings) == [("MW601/upstream-and-vhost-wrong", f"metadata.annotations.{SERVICE_UPSTREAM}")]
    finding = findings[0]
    assert "service-upstream is not set" in finding.message and "upstream-vhost is not set" in finding.message
    assert f'{SERVICE_UPSTREAM}: "true"' in finding.fix
    assert f"{UPSTREAM_VHOST}: frontend.web.svc.cluster.local" in finding.fix
    assert finding.action == "warn"


@pytest.mark.parametrize(
    ("annotations", "message_id", "path", "text"),
    [
        (
            f'{{{SERVICE_UPSTREAM}: "false", {UPSTREAM_VHOST}: frontend.web.svc.cluster.local}}',
            "service-upstream-off",
            SERVICE_UPSTREAM,
            'service-upstream is "false"',
        ),
        (
            f'{{{SERVICE_UPSTREAM}: "true", {UPSTREAM_VHOST}: shop.example.com}}',
            "upstream-vhost-wrong",
            UPSTREAM_VHOST,
            'upstream-vhost is "shop.example.com"',
        ),
        (
            f'{{{SERVICE_UPSTREAM}: "true", {UPSTREAM_VHOST}: frontend.default.svc.cluster.local}}',
            "upstream-vhost-wrong",
            UPSTREAM_VHOST,
            "not frontend.web.svc.cluster.local",
        ),
        (
            f'{{{SERVICE_UPSTREAM}: "true"}}',
            "upstream-vhost-wrong",
            UPSTREAM_VHOST,
            "upstream-vhost is not set",
        ),
    ],
)
def test_wrong_annotations_are_found(annotations: str, message_id: str, path: str, text: str) -> None:
    findings = only(run(ingress(annotations), policy=MESHED), "MW601")
    assert said(findings) == [(f"MW601/{message_id}", f"metadata.annotations.{path}")]
    assert text in findings[0].message


def test_class_by_annotation_and_old_backend_form() -> None:
    manifest = """
        apiVersion: extensions/v1beta1
        kind: Ingress
        metadata:
          name: legacy
          namespace: web
          annotations: {kubernetes.io/ingress.class: nginx}
        spec:
          backend: {serviceName: catalog, servicePort: 80}
    """
    findings = only(run(manifest, policy=MESHED), "MW601")
    assert said(findings) == [("MW601/upstream-and-vhost-wrong", f"metadata.annotations.{SERVICE_UPSTREAM}")]
    assert "catalog.web.svc.cluster.local" in findings[0].fix


def test_several_backends_need_the_variable_form() -> None:
    findings = only(
        run(ingress(f'{{{SERVICE_UPSTREAM}: "true"}}', backends=("a", "b")), policy=MESHED), "MW601"
    )
    assert said(findings) == [("MW601/upstream-vhost-wrong", f"metadata.annotations.{UPSTREAM_VHOST}")]
    assert "$service_name.$namespace.svc.cluster.local" in findings[0].fix
    templated = (
        f'{{{SERVICE_UPSTREAM}: "true", {UPSTREAM_VHOST}: $service_name.$namespace.svc.cluster.local}}'
    )
    assert only(run(ingress(templated, backends=("a", "b")), policy=MESHED), "MW601") == []


@pytest.mark.parametrize("class_name", ["traefik", ""])
def test_other_or_no_class_is_not_checked(class_name: str) -> None:
    assert only(run(ingress(class_name=class_name), policy=MESHED), "MW601") == []


def test_ingress_class_of_the_nginx_controller_counts() -> None:
    ingress_class = """
        apiVersion: networking.k8s.io/v1
        kind: IngressClass
        metadata: {name: public}
        spec: {controller: k8s.io/ingress-nginx}
    """
    findings = run(ingress(class_name="public"), context=ingress_class, policy=MESHED)
    assert [f.message_id for f in findings if f.code == "MW601"] == ["MW601/upstream-and-vhost-wrong"]
    assert only(run(ingress(class_name="public"), policy=MESHED), "MW601") == []


def annotation(key: str) -> tuple[str, str, str]:
    return ("metadata", "annotations", key)


def test_both_annotations_are_one_safe_fix() -> None:
    [finding] = only(run(ingress(), policy=MESHED), "MW601")
    edits = (
        Edit(annotation(SERVICE_UPSTREAM), None, "true"),
        Edit(annotation(UPSTREAM_VHOST), None, "frontend.web.svc.cluster.local"),
    )
    title = f'set {SERVICE_UPSTREAM}: "true"; set {UPSTREAM_VHOST}: frontend.web.svc.cluster.local'
    assert finding.autofix == Autofix(title, edits, Safety.SAFE)


@pytest.mark.parametrize(
    ("annotations", "edit"),
    [
        (
            f'{{{SERVICE_UPSTREAM}: "false", {UPSTREAM_VHOST}: frontend.web.svc.cluster.local}}',
            Edit(annotation(SERVICE_UPSTREAM), "false", "true"),
        ),
        (
            f'{{{SERVICE_UPSTREAM}: "true", {UPSTREAM_VHOST}: shop.example.com}}',
            Edit(annotation(UPSTREAM_VHOST), "shop.example.com", "frontend.web.svc.cluster.local"),
        ),
    ],
)
def test_a_wrong_annotation_is_corrected_in_place(annotations: str, edit: Edit) -> None:
    [finding] = only(run(ingress(annotations), policy=MESHED), "MW601")
    assert finding.autofix is not None
    assert finding.autofix.edits == (edit,)


def test_several_backends_get_the_variable_form_as_the_fix() -> None:
    [finding] = only(
        run(ingress(f'{{{SERVICE_UPSTREAM}: "true"}}', backends=("a", "b")), policy=MESHED), "MW601"
    )
    pattern = "$service_name.$namespace.svc.cluster.local"
    assert finding.autofix == Autofix(
        f"set {UPSTREAM_VHOST}: {pattern}", (Edit(annotation(UPSTREAM_VHOST), None, pattern),), Safety.SAFE
    )
    assert finding.fix.endswith(", or split the Ingress per Service")
