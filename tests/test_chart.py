"""The Helm chart under charts/meshwarden, rendered and linted by Helm's own engine (the library that
helm-python-sdk embeds: no helm binary, no cluster). Each certificate mode renders to objects that
match the Kubernetes schemas, have the properties tests/test_manifests.py asserts of the kustomize
base, agree with that base where they must, and pass `meshwarden check` without a finding.

Rendering is offline, so Helm's `lookup` finds nothing and the generated certificates are new on
every render; keeping them across upgrades needs a cluster and is not tested here.
"""

from __future__ import annotations

import base64
import functools
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from tests import test_manifests as manifests
from tests.test_manifests import CERT_MANAGER_KINDS, NAMESPACE, SCHEMA_VERSIONS, Obj, by_key, container, one
from tests.test_own_manifests import check
from webhook.policy import Profile, parse_policy
from webhook.rules import CATALOGUE

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "meshwarden"
RELEASE = "meshwarden"

MODES: dict[str, dict[str, Any]] = {
    "generate": {},
    "cert-manager": {"certificates": {"mode": "certManager"}},
    "secret": {
        "certificates": {
            "mode": "secret",
            "secret": {"name": "meshwarden-tls", "caBundle": base64.b64encode(b"a CA, PEM").decode()},
        }
    },
}


@functools.cache
def _chart() -> helm.Chart:
    return helm.Chart.load(CHART)


def render_text(values: dict[str, Any], name: str = RELEASE, namespace: str = NAMESPACE) -> dict[str, str]:
    """Each template's output, by its path (what `helm template` prints after `# Source:`)."""
    return _chart().render(values, name=name, namespace=namespace)


def render_chart(values: dict[str, Any], name: str = RELEASE, namespace: str = NAMESPACE) -> list[Obj]:
    objects = []
    for path, text in render_text(values, name, namespace).items():
        if path.endswith(".yaml"):
            objects += [doc for doc in yaml.safe_load_all(text) if doc is not None]
    return objects


def webhook_config(objects: list[Obj]) -> Obj:
    return one(objects, "ValidatingWebhookConfiguration")


# --- Helm's checks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", sorted(MODES))
def test_chart_lints_clean(mode: str) -> None:
    report = helm.lint(CHART, MODES[mode], strict=True, namespace=NAMESPACE)
    assert report["errors"] == []
    # Severity 1 is information ("icon is recommended"); 2 and up are warnings and errors.
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_lint_reports_a_broken_value() -> None:
    report = helm.lint(CHART, {"replicas": "two"}, namespace=NAMESPACE)
    assert any("replicas" in error for error in report["errors"])


@pytest.mark.parametrize(
    "values",
    [
        {"replica": 3},
        {"webhook": {"failurePolicy": "fail"}},
        {"webhook": {"excludedNamespace": ["legacy"]}},
        {"certificates": {"mode": "cert-manager"}},
        {"certificates": {"mode": "secret", "secret": {"name": "meshwarden-tls"}}},
        {"liveInventory": {"enable": False}},
        {"networkPolicy": {"enabled": True}},
        {"policy": {"profil": "audit"}},
        {"policy": {"mesh": {"mtls": "strict"}}},
        {"policy": {"rules": {"MW101": "block"}}},
        {"policy": {"namespaces": [{"match": "legacy-*", "profle": "audit"}]}},
        {"resources": {"limits": {"memroy": "1Gi"}}},
    ],
    ids=lambda values: yaml.safe_dump(values, default_flow_style=True).strip(),
)
def test_a_typo_in_values_fails_the_install(values: dict[str, Any]) -> None:
    with pytest.raises(helm.HelmValuesError):
        render_text(values)


def test_values_leave_room_for_the_audit_and_monitoring_options() -> None:
    values = {
        **MODES["secret"],  # generated certificates would differ between the two renders
        "audit": {"cronJob": {"enabled": False, "schedule": "0 3 * * *"}},
        "monitoring": {"dashboard": {"enabled": False}, "prometheusRule": {"enabled": False}},
    }
    assert by_key(render_chart(values)) == by_key(render_chart(MODES["secret"]))


# --- the rendered objects --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_every_object_matches_the_kubernetes_schema(mode: str, version: str) -> None:
    for obj in render_chart(MODES[mode]):
        if obj["kind"] in CERT_MANAGER_KINDS and obj["apiVersion"] == "cert-manager.io/v1":
            continue  # a CRD: checked by check_cert_manager_chain
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{mode}: {manifests.key(obj)} is invalid for Kubernetes {version}: {exc.message}")


@pytest.mark.parametrize(
    ("mode", "added"),
    [
        ("generate", {("Secret", NAMESPACE, "meshwarden-tls")}),
        ("secret", set()),
        (
            "cert-manager",
            {
                ("Issuer", NAMESPACE, "meshwarden-selfsigned"),
                ("Issuer", NAMESPACE, "meshwarden-ca"),
                ("Certificate", NAMESPACE, "meshwarden-ca"),
                ("Certificate", NAMESPACE, "meshwarden-serving"),
            },
        ),
    ],
)
def test_chart_objects_are_the_base_and_its_certificates(mode: str, added: set[manifests.Key]) -> None:
    """The base less its Namespace: Helm installs into a namespace that exists
    (`--create-namespace`), and the README has it labelled as the base labels it."""
    base = {k for k in by_key(manifests.render("base")) if k[0] != "Namespace"}
    assert set(by_key(render_chart(MODES[mode]))) == base | added


# Properties of the kustomize base that the chart must have too, asserted by the same functions.
BASE_PROPERTIES = [
    manifests.test_cluster_role_reads_exactly_the_kinds_the_rules_declare,
    manifests.test_cluster_role_binding_grants_the_role_to_the_pods_service_account,
    manifests.test_deployment_replicas_spread_and_disruption_budget,
    manifests.test_container_resources_have_requests_and_limits,
    manifests.test_probes_are_https_on_8443,
    manifests.test_pod_runs_non_root_read_only_without_capabilities,
    manifests.test_volumes_mount_whole_directories_and_tmp_is_an_empty_dir,
    manifests.test_container_args_point_at_the_mounted_files,
    manifests.test_pod_namespace_comes_from_the_downward_api,
    manifests.test_pre_stop_sleep_fits_in_the_termination_grace_period,
    manifests.test_base_sets_no_priority_class,
    manifests.test_image_tag_is_the_project_version,
    manifests.test_service_maps_443_to_the_container_port,
    manifests.test_webhook_settings,
    manifests.test_webhook_skips_control_plane_namespaces_and_its_own,
    manifests.test_webhook_rules_cover_exactly_the_checked_kinds_on_create_and_update,
    manifests.test_webhook_always_covers_the_core_kinds,
    manifests.test_webhook_rule_scopes,
]


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("check_property", BASE_PROPERTIES, ids=lambda f: f.__name__.removeprefix("test_"))
def test_chart_has_the_base_properties(check_property: Any, mode: str) -> None:
    check_property(render_chart(MODES[mode]))


@pytest.mark.parametrize("mode", sorted(MODES))
def test_chart_and_base_agree_on_webhook_rbac_and_pod_security(mode: str) -> None:
    chart, base = render_chart(MODES[mode]), manifests.render("base")
    chart_hook = manifests.webhook(chart)
    chart_hook["clientConfig"].pop("caBundle", None)
    assert chart_hook == manifests.webhook(base)
    assert one(chart, "ClusterRole")["rules"] == one(base, "ClusterRole")["rules"]
    # The container whole (image, args, probes, security context, mounts) and the pod spec but for
    # the affinity terms' label selectors (the chart's labels name the release).
    assert container(chart) == container(base)
    chart_pod, base_pod = (one(o, "Deployment")["spec"]["template"]["spec"] for o in (chart, base))
    assert chart_pod.pop("affinity").keys() == base_pod.pop("affinity").keys()
    assert chart_pod == base_pod


def test_policy_config_map_is_the_base_policy_file() -> None:
    text = one(render_chart({}), "ConfigMap", "meshwarden-policy")["data"]["policy.yaml"]
    base_policy = manifests.MANIFESTS / "base" / "policy.yaml"
    assert yaml.safe_load(text) == yaml.safe_load(base_policy.read_text())
    assert parse_policy(text, CATALOGUE, "policy.yaml").profile is Profile.DEFAULT


def test_policy_values_reach_the_config_map() -> None:
    policy = {
        "profile": "audit",
        "rules": {
            "MW201": "deny",
            "MW304": False,  # a bare `off` in a values file
            "MW101": {"action": "deny", "options": {"requireLiteral": True}},
        },
        "namespaces": [{"match": "legacy-*", "profile": "audit"}],
        "mesh": {"mtls": "STRICT", "istioVersion": "1.24"},
    }
    text = one(render_chart({"policy": policy}), "ConfigMap", "meshwarden-policy")["data"]["policy.yaml"]
    data = yaml.safe_load(text)
    assert {k: data[k] for k in ("profile", "rules", "namespaces")} == {
        k: policy[k] for k in ("profile", "rules", "namespaces")
    }
    assert data["mesh"]["istioVersion"] == "1.24" and data["mesh"]["rootNamespace"] == "istio-system"
    assert parse_policy(text, CATALOGUE, "policy.yaml").profile is Profile.AUDIT


@pytest.mark.parametrize("mode", sorted(MODES))
def test_rendered_chart_has_no_findings(
    mode: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What `helm template` prints, # Source comments included, checked by `meshwarden check`."""
    rendered = tmp_path / "chart.yaml"
    rendered.write_text(
        "".join(
            f"---\n# Source: {path}\n{text}\n"
            for path, text in render_text(MODES[mode]).items()
            if path.endswith(".yaml") and text
        )
    )
    assert check(capsys, str(rendered)) == []


# --- certificates ----------------------------------------------------------------------------------


def _pem(b64: str) -> bytes:
    return base64.b64decode(b64)


@pytest.mark.parametrize(("release", "namespace"), [(RELEASE, NAMESPACE), ("mw", "security")])
def test_generated_certificates_are_trusted_by_the_ca_bundle(release: str, namespace: str) -> None:
    objects = render_chart({}, name=release, namespace=namespace)
    secret = one(objects, "Secret")
    assert secret["type"] == "kubernetes.io/tls"
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    tls_volume = next(v for v in pod["volumes"] if "secret" in v)
    assert tls_volume["secret"]["secretName"] == secret["metadata"]["name"]

    [hook] = webhook_config(objects)["webhooks"]
    client = hook["clientConfig"]
    assert client["caBundle"] == secret["data"]["ca.crt"]
    ca = x509.load_pem_x509_certificate(_pem(client["caBundle"]))
    serving = x509.load_pem_x509_certificate(_pem(secret["data"]["tls.crt"]))
    serving.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    host = f"{client['service']['name']}.{client['service']['namespace']}.svc"
    assert client["service"]["namespace"] == namespace
    names = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert host in names.get_values_for_type(x509.DNSName)

    key = load_pem_private_key(_pem(secret["data"]["tls.key"]), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)
    assert key.public_key() == serving.public_key()
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)


def test_generated_certificate_lifetime_follows_the_value() -> None:
    secret = one(render_chart({"certificates": {"generate": {"days": 400}}}), "Secret")
    serving = x509.load_pem_x509_certificate(_pem(secret["data"]["tls.crt"]))
    assert (serving.not_valid_after_utc - serving.not_valid_before_utc).days == 400


def test_cert_manager_mode_issues_and_injects_like_the_overlay() -> None:
    objects = render_chart(MODES["cert-manager"])
    manifests.check_cert_manager_chain(objects)
    manifests.check_cert_manager_renewal(objects)
    assert "caBundle" not in manifests.webhook(objects)["clientConfig"], "cert-manager's injector owns it"
    overlay = manifests.render("cert-manager")
    for name in ("meshwarden-ca", "meshwarden-serving"):
        assert one(objects, "Certificate", name)["spec"] == one(overlay, "Certificate", name)["spec"]


def test_secret_mode_mounts_the_named_secret_with_its_ca_bundle() -> None:
    values = {"certificates": {"mode": "secret", "secret": {"name": "my-tls", "caBundle": "Q0E="}}}
    objects = render_chart(values)
    assert not [o for o in objects if o["kind"] == "Secret"]
    assert manifests.webhook(objects)["clientConfig"]["caBundle"] == "Q0E="
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    assert next(v for v in pod["volumes"] if "secret" in v)["secret"]["secretName"] == "my-tls"


# --- the other values ------------------------------------------------------------------------------


def test_fail_closed_values_match_the_fail_closed_overlay() -> None:
    values = {
        "webhook": {"failurePolicy": "Fail"},
        "replicas": 3,
        "priorityClassName": "system-cluster-critical",
    }
    objects = render_chart(values)
    manifests.check_fail_closed(objects)
    overlay = manifests.render("fail-closed")
    assert one(objects, "Deployment")["spec"]["replicas"] == one(overlay, "Deployment")["spec"]["replicas"]
    assert one(objects, "ResourceQuota")["spec"] == one(overlay, "ResourceQuota")["spec"]


def test_replicas_and_resources() -> None:
    resources = {"requests": {"cpu": "200m", "memory": "512Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
    objects = render_chart({"replicas": 4, "resources": resources})
    assert one(objects, "Deployment")["spec"]["replicas"] == 4
    assert container(objects)["resources"] == resources


def test_namespace_exclusions_always_keep_the_release_namespace() -> None:
    objects = render_chart({"webhook": {"excludedNamespaces": ["kube-system", "legacy"]}}, namespace="mw")
    [expression] = manifests.webhook(objects)["namespaceSelector"]["matchExpressions"]
    assert expression["values"] == ["kube-system", "legacy", "mw"]


def test_live_inventory_off_drops_the_cluster_role_and_watches() -> None:
    objects = render_chart({"liveInventory": {"enabled": False}})
    kinds = {o["kind"] for o in objects}
    assert not kinds & {"ClusterRole", "ClusterRoleBinding"}
    args = container(objects)["args"]
    assert "--no-cluster" in args and "--workers" not in args


def test_network_policy_is_opt_in_and_admits_the_listed_peers() -> None:
    assert not [o for o in render_chart({}) if o["kind"] == "NetworkPolicy"]
    peers = [{"ipBlock": {"cidr": "10.0.0.10/32"}}, {"ipBlock": {"cidr": "10.0.0.11/32"}}]
    objects = render_chart({"networkPolicy": {"enabled": True, "from": peers}})
    manifests.check_network_policy(objects)
    assert one(objects, "NetworkPolicy")["spec"]["ingress"][0]["from"] == peers


def test_notes_tell_how_to_check_the_install() -> None:
    notes = render_text({}, name="mw", namespace="security")["meshwarden/templates/NOTES.txt"]
    assert "kubectl -n security rollout status deployment/mw-meshwarden" in notes
    assert "--dry-run=server" in notes and "certificates.mode=certManager" in notes
    cert_manager_notes = render_text(MODES["cert-manager"])["meshwarden/templates/NOTES.txt"]
    assert "certificates.mode=certManager" not in cert_manager_notes


# --- monitoring ----------------------------------------------------------------------------------

MONITORING = ROOT / "manifests" / "components" / "monitoring"


def test_monitoring_is_off_by_default() -> None:
    kinds = {obj["kind"] for obj in render_chart({})}
    assert not kinds & {"PrometheusRule", "ServiceMonitor"}
    assert all(obj["metadata"]["name"] != "meshwarden-dashboard" for obj in render_chart({}))


def test_monitoring_renders_the_component_s_dashboard_and_rules() -> None:
    values = {m: {"enabled": True} for m in ("dashboard", "prometheusRule", "serviceMonitor")}
    objects = render_chart({"monitoring": values})
    dashboard = next(
        o for o in objects if o["kind"] == "ConfigMap" and "meshwarden.json" in o.get("data", {})
    )
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert dashboard["data"]["meshwarden.json"] == (MONITORING / "meshwarden.json").read_text()
    rule = one(objects, "PrometheusRule")
    assert rule["spec"] == yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())["spec"]
    assert one(objects, "ServiceMonitor")["spec"]["selector"]["matchLabels"]
    report = helm.lint(CHART, {"monitoring": values}, strict=True, namespace=NAMESPACE)
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_the_audit_cron_job_matches_the_component() -> None:
    objects = render_chart({"audit": {"cronJob": {"enabled": True, "schedule": "5 * * * *"}}})
    job = one(objects, "CronJob")
    assert job["spec"]["schedule"] == "5 * * * *"
    component = manifests.render("audit-cronjob")
    chart_role = next(o for o in objects if o["kind"] == "ClusterRole" and "audit" in o["metadata"]["name"])
    assert chart_role["rules"] == one(component, "ClusterRole", "meshwarden-audit")["rules"]
    assert "CronJob" not in {obj["kind"] for obj in render_chart({})}
