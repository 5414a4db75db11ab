"""MW101 workload-identity-labels and MW102 probe-rewrite-disabled, with mesh membership."""

import pytest

from tests.helpers import only, run, said
from webhook.findings import Autofix, Edit, Safety
from webhook.kinds import GATEWAY
from webhook.rules import CATALOGUE


def pod(labels: str = "{app: web, version: v1}", annotations: str = "{}", spec: str = "") -> str:
    return f"""
        apiVersion: v1
        kind: Pod
        metadata:
          name: web
          labels: {labels}
          annotations: {annotations}
        spec:
          {spec or "containers: [{name: web, image: web:1}]"}
    """


def deployment(labels: str = "{app: web, version: v1}", annotations: str = "{}", containers: str = "") -> str:
    return f"""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          selector:
            matchLabels: {{app: web}}
          template:
            metadata:
              labels: {labels}
              annotations: {annotations}
            spec:
              containers: {containers or "[{name: web, image: web:1}]"}
    """


def namespace(labels: str, name: str = "default") -> str:
    return f"""
        apiVersion: v1
        kind: Namespace
        metadata:
          name: {name}
          labels: {labels}
    """


# --- MW101 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "message_id", "fix"),
    [
        ("{version: v1}", "no-app-label", "add label app: web to spec.template.metadata.labels"),
        ("{app: web}", "no-version-label", "add label version: v1 to spec.template.metadata.labels"),
        ("{tier: front}", "no-app-or-version-label", "add labels app: web and version: v1"),
        ("{app: web, version: ''}", "no-version-label", "version: v1"),
        ("{app: '', version: v1}", "no-app-label", "app: web"),
    ],
)
def test_template_without_identity_is_denied(labels: str, message_id: str, fix: str) -> None:
    findings = only(run(deployment(labels)), "MW101")
    assert said(findings) == [(f"MW101/{message_id}", "spec.template.metadata.labels")]
    assert findings[0].action == "deny"
    assert fix in findings[0].fix


def test_the_message_names_what_istio_reports_instead() -> None:
    (finding,) = only(run(deployment("{tier: front}")), "MW101")
    assert 'Istio reports it as app "web", version "latest"' in finding.message


@pytest.mark.parametrize(
    ("name", "labels", "fix"),
    [
        ("reviews-v2", "{app: reviews}", "add label version: v2 to"),
        ("reviews-v2", "{tier: x}", "add labels app: reviews and version: v2 to"),
        ("api-v1beta1", "{app: api}", "add label version: v1beta1 to"),
        ("reviews-v2", "{app: reviews, app.kubernetes.io/version: '3'}", 'add label version: "3" to'),
        ("vault", "{app: vault}", "add label version: v1 to"),
        ("serve-vault", "{app: vault}", "add label version: v1 to"),
        ("reviews-v", "{app: reviews}", "add label version: v1 to"),
    ],
)
def test_suggested_version_comes_from_the_workload_names_suffix(name: str, labels: str, fix: str) -> None:
    manifest = deployment(labels).replace("name: web\n", f"name: {name}\n", 1)
    policy = "rules: {MW101: {options: {requireLiteral: true}}}"
    assert fix in only(run(manifest, policy=policy), "MW101")[0].fix


LITERAL = "rules: {MW101: {options: {requireLiteral: true}}}"
TEMPLATE_LABELS = ("spec", "template", "metadata", "labels")


@pytest.mark.parametrize(
    ("name", "labels", "policy", "edits"),
    [
        ("reviews-v2", "{app: reviews}", "", [("version", None, "v2")]),
        ("reviews-v2", "{app: reviews, version: ''}", "", [("version", "", "v2")]),
        ("reviews-v2", "{tier: x}", "", [("app", None, "reviews"), ("version", None, "v2")]),
        ("web", "{version: v1}", "", [("app", None, "web")]),
        (
            "web",
            "{app.kubernetes.io/name: shop, app.kubernetes.io/version: '1.2'}",
            LITERAL,
            [("app", None, "shop"), ("version", None, "1.2")],
        ),
    ],
)
def test_identity_labels_the_name_or_other_labels_tell_are_an_unsafe_fix(
    name: str, labels: str, policy: str, edits: list[tuple[str, str | None, str]]
) -> None:
    manifest = deployment(labels).replace("name: web\n", f"name: {name}\n", 1)
    [finding] = only(run(manifest, policy=policy or None), "MW101")
    expected = tuple(Edit((*TEMPLATE_LABELS, key), old, new) for key, old, new in edits)
    assert finding.autofix == Autofix(finding.fix, expected, Safety.UNSAFE)


def test_a_pods_identity_fix_is_on_its_own_labels() -> None:
    [finding] = only(run(pod("{app: reviews}").replace("name: web\n", "name: reviews-v3\n", 1)), "MW101")
    assert finding.autofix == Autofix(
        finding.fix, (Edit(("metadata", "labels", "version"), None, "v3"),), Safety.UNSAFE
    )


@pytest.mark.parametrize(
    ("name", "labels", "owner"),
    [
        ("reviews", "{app: reviews}", ""),  # no version in the name: v1 is only an example
        ("serve-vault", "{app: vault}", ""),
        (
            "reviews-v2",
            "{tier: x}",
            "ownerReferences: [{kind: ReplicaSet, name: r, uid: u, controller: true}]",
        ),
        ("reviews-v2", "{tier: x}", "generateName: reviews-v2-"),
    ],
)
def test_no_identity_fix_when_a_value_is_not_inferable(name: str, labels: str, owner: str) -> None:
    named = f"name: {name}\n" + (f"          {owner}\n" if owner else "")
    [finding] = only(run(pod(labels).replace("name: web\n", named, 1)), "MW101")
    assert finding.autofix is None


@pytest.mark.parametrize(
    "labels",
    [
        "{app: web, version: v1}",
        "{app.kubernetes.io/name: web, app.kubernetes.io/version: '1.2'}",
        "{service.istio.io/canonical-name: web, service.istio.io/canonical-revision: v2}",
        "{app: web, app.kubernetes.io/version: '3'}",
    ],
)
def test_any_identity_label_counts(labels: str) -> None:
    assert only(run(deployment(labels)), "MW101") == []


def test_require_literal_wants_app_and_version_and_reuses_values() -> None:
    labels = "{app.kubernetes.io/name: shop, app.kubernetes.io/version: '1.2'}"
    findings = only(
        run(deployment(labels), policy="rules: {MW101: {options: {requireLiteral: true}}}"), "MW101"
    )
    assert said(findings) == [("MW101/no-app-or-version-label", "spec.template.metadata.labels")]
    assert "requireLiteral" in findings[0].message
    assert "app.kubernetes.io/name, app.kubernetes.io/version do not count" in findings[0].message
    assert findings[0].fix == 'add labels app: shop and version: "1.2" to spec.template.metadata.labels'


def test_require_literal_passes_literal_labels() -> None:
    policy = "rules: {MW101: {options: {requireLiteral: true}}}"
    assert only(run(deployment("{app: web, version: v1}"), policy=policy), "MW101") == []


def test_cronjob_template_is_checked_where_written() -> None:
    findings = only(
        run("""
            apiVersion: batch/v1
            kind: CronJob
            metadata:
              name: report
            spec:
              schedule: "0 * * * *"
              jobTemplate:
                spec:
                  template:
                    metadata:
                      labels: {app: report}
                    spec:
                      restartPolicy: Never
                      containers: [{name: report, image: report:1}]
        """),
        "MW101",
    )
    assert said(findings) == [("MW101/no-version-label", "spec.jobTemplate.spec.template.metadata.labels")]
    assert findings[0].fix == "add label version: v1 to spec.jobTemplate.spec.template.metadata.labels"
    assert findings[0].line == 12


def test_bare_pod_is_checked_at_its_own_labels() -> None:
    findings = only(run(pod(labels="{app: web}")), "MW101")
    assert said(findings) == [("MW101/no-version-label", "metadata.labels")]
    assert [f.fix for f in findings] == ["add label version: v1 to metadata.labels"]


def test_pod_owned_by_a_controller_is_only_warned() -> None:
    manifest = pod(labels="{app: web}").replace(
        "name: web\n",
        "name: web\n          ownerReferences: [{kind: ReplicaSet, name: web-1, controller: true}]\n",
        1,
    )
    assert [f.action for f in only(run(manifest), "MW101")] == ["warn"]


@pytest.mark.parametrize(
    ("kind", "owner", "action"),
    [
        ("ReplicaSet", "{kind: Deployment, name: web, uid: u, controller: true}", "warn"),
        (
            "Deployment",
            "{apiVersion: example.com/v1, kind: Shop, name: web, uid: u, controller: true}",
            "warn",
        ),
        ("ReplicaSet", "{kind: Deployment, name: web, uid: u, controller: false}", "deny"),
        ("ReplicaSet", "{kind: Deployment, name: web, uid: u}", "deny"),
    ],
    ids=[
        "deployments-replicaset",
        "operators-deployment",
        "owner-not-controller",
        "owner-without-controller",
    ],
)
def test_workload_owned_by_a_controller_is_only_warned(kind: str, owner: str, action: str) -> None:
    """A denial of a ReplicaSet its Deployment creates would stall the rollout (a Deployment applied
    before Meshwarden, or before its namespace was meshed), and nobody would read it."""
    manifest = (
        deployment(labels="{app: web}")
        .replace("kind: Deployment", f"kind: {kind}", 1)
        .replace("name: web\n", f"name: web\n          ownerReferences: [{owner}]\n", 1)
    )
    assert [f.action for f in only(run(manifest), "MW101")] == [action]


@pytest.mark.parametrize(
    ("manifest", "world"),
    [
        (pod(labels="{tier: x}", spec="hostNetwork: true\n          containers: [{name: web}]"), ""),
        (pod(labels="{tier: x, sidecar.istio.io/inject: 'false'}"), ""),
        (pod(labels="{tier: x}"), namespace("{istio-injection: disabled}")),
        (pod(labels="{tier: x}"), namespace("{team: a}")),
        (pod(labels="{tier: x}"), namespace("{istio-injection: disabled, istio.io/rev: canary}")),
        (pod(labels="{tier: x, sidecar.istio.io/inject: 'false'}"), namespace("{istio-injection: enabled}")),
    ],
    ids=[
        "hostNetwork",
        "inject-label-false",
        "ns-disabled",
        "ns-unlabelled",
        "ns-disabled-with-rev",
        "opt-out",
    ],
)
def test_pods_outside_the_mesh_are_not_checked(manifest: str, world: str) -> None:
    assert only(run(manifest, context=world), "MW101") == []


@pytest.mark.parametrize(
    ("manifest", "world"),
    [
        (pod(labels="{tier: x}"), ""),  # namespace labels unknown: mesh.assumeInjected
        (pod(labels="{tier: x}"), namespace("{istio-injection: enabled}")),
        (pod(labels="{tier: x}"), namespace("{istio.io/rev: canary}")),
        (pod(labels="{tier: x, sidecar.istio.io/inject: 'true'}"), namespace("{team: a}")),
        (
            pod(labels="{tier: x}", spec="containers: [{name: web}, {name: istio-proxy}]"),
            namespace("{team: a}"),
        ),
        (
            pod(
                labels="{tier: x}",
                spec="initContainers: [{name: istio-proxy}]\n          containers: [{name: web}]",
            ),
            namespace("{team: a}"),
        ),
        (pod(labels="{tier: x}", annotations="{sidecar.istio.io/status: '{}'}"), namespace("{team: a}")),
    ],
    ids=["assumed", "ns-enabled", "ns-revision", "inject-label-true", "proxy", "native-proxy", "status"],
)
def test_pods_in_the_mesh_are_checked(manifest: str, world: str) -> None:
    assert said(run(manifest, context=world), "MW101") == [
        ("MW101/no-app-or-version-label", "metadata.labels")
    ]


def test_assume_injected_false_leaves_unknown_namespaces_out() -> None:
    assert only(run(pod(labels="{tier: x}"), policy="mesh: {assumeInjected: false}"), "MW101") == []


def test_assume_injected_false_still_counts_a_pod_that_opts_in() -> None:
    manifest = pod(labels="{tier: x, sidecar.istio.io/inject: 'true'}")
    findings = run(manifest, policy="mesh: {assumeInjected: false}")
    assert said(findings, "MW101") == [("MW101/no-app-or-version-label", "metadata.labels")]


# Mesh membership as Istio's injector decides it (`injectRequired` and the webhook's selectors).
INJECT_FALSE = "{sidecar.istio.io/inject: 'false'}"


def in_namespace(manifest: str, name: str) -> str:
    return manifest.replace("name: web\n", f"name: web\n          namespace: {name}\n", 1)


@pytest.mark.parametrize(
    ("manifest", "world"),
    [
        (pod(labels="{tier: x}", annotations=INJECT_FALSE), ""),
        (pod(labels="{tier: x}", annotations=INJECT_FALSE), namespace("{istio-injection: enabled}")),
        (deployment(labels="{tier: x}", annotations=INJECT_FALSE), namespace("{istio.io/rev: canary}")),
        (pod(labels="{tier: x}", annotations="{sidecar.istio.io/inject: 'true'}"), namespace("{team: a}")),
        (pod(labels="{tier: x, sidecar.istio.io/inject: 'true'}"), namespace("{istio-injection: disabled}")),
        (pod(labels="{tier: x, istio.io/rev: canary}"), namespace("{istio-injection: disabled}")),
    ],
    ids=[
        "annotation-false-assumed",
        "annotation-false-ns-enabled",
        "annotation-false-template",
        "annotation-true-cannot-opt-in",
        "label-true-ns-disabled",
        "pod-revision-ns-disabled",
    ],
)
def test_injector_leaves_the_pod_out(manifest: str, world: str) -> None:
    assert only(run(manifest, context=world), "MW101") == []


@pytest.mark.parametrize(
    ("manifest", "world"),
    [
        (pod(labels="{tier: x, sidecar.istio.io/inject: 'true'}", annotations=INJECT_FALSE), ""),
        (
            pod(labels="{tier: x, sidecar.istio.io/inject: 'yes'}", annotations=INJECT_FALSE),
            namespace("{istio-injection: enabled}"),
        ),
        (pod(labels="{tier: x, istio.io/rev: canary}"), namespace("{team: a}")),
        (pod(labels="{tier: x}", annotations="{sidecar.istio.io/inject: 'true'}"), ""),
    ],
    ids=["label-beats-annotation", "invalid-label-still-wins", "pod-revision", "annotation-true-assumed"],
)
def test_injector_takes_the_pod_in(manifest: str, world: str) -> None:
    assert len(only(run(manifest, context=world), "MW101")) == 1


@pytest.mark.parametrize("name", ["istio-system", "kube-system", "kube-flannel"])
def test_root_and_kube_namespaces_with_unknown_labels_are_not_injected(name: str) -> None:
    manifest = in_namespace(pod(labels="{tier: x}"), name)
    assert only(run(manifest, policy="exemptNamespaces: []"), "MW101") == []


@pytest.mark.parametrize(
    ("name", "labels", "world", "policy"),
    [
        ("kubernetes-dashboard", "{tier: x}", "", ""),  # not kube-*
        ("mesh-root", "{tier: x}", "", ""),  # not the root namespace unless the policy says so
        ("istio-system", "{tier: x, sidecar.istio.io/inject: 'true'}", "", ""),
        ("istio-system", "{tier: x}", namespace("{istio-injection: enabled}", name="istio-system"), ""),
        ("istio-system", "{tier: x}", "", "mesh: {rootNamespace: mesh-root}"),
    ],
    ids=["kubernetes-prefix", "other-namespace", "pod-opts-in", "root-labelled-enabled", "root-moved"],
)
def test_root_and_kube_exceptions_are_narrow(name: str, labels: str, world: str, policy: str) -> None:
    manifest = in_namespace(pod(labels=labels), name)
    assert len(only(run(manifest, context=world, policy=policy or None), "MW101")) == 1


def test_custom_root_namespace_counts_as_not_injected() -> None:
    manifest = in_namespace(pod(labels="{tier: x}"), "mesh-root")
    assert only(run(manifest, policy="mesh: {rootNamespace: mesh-root}"), "MW101") == []


def test_every_mw1xx_rule_shares_mesh_membership() -> None:
    manifest = deployment(labels="{tier: x}", annotations=INJECT_FALSE, containers=HTTP_READINESS)
    annotated = manifest.replace(
        "sidecar.istio.io/inject: 'false'}", "sidecar.istio.io/inject: 'false', " + OFF[1:]
    )
    findings = run(annotated, policy="mesh: {mtls: STRICT}")
    assert only(findings, "MW101") == only(findings, "MW102") == []
    opted_in = annotated.replace("'false', ", "'true', ")
    assert len(only(run(opted_in, policy="mesh: {mtls: STRICT}"), "MW102")) == 1


@pytest.mark.parametrize(
    ("labels", "annotations", "world"),
    [
        ("{istio: ingressgateway}", "{}", ""),
        ("{istio: egressgateway}", "{}", ""),
        ("{gw: private}", "{inject.istio.io/templates: 'gateway'}", ""),
        ("{gw: private}", "{inject.istio.io/templates: 'sidecar, gateway'}", ""),
        (
            "{gw: private}",
            "{}",
            """
            apiVersion: networking.istio.io/v1
            kind: Gateway
            metadata: {name: private, namespace: edge}
            spec:
              selector: {gw: private}
              servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
        """,
        ),
    ],
    ids=["ingress-label", "egress-label", "gateway-template", "template-list", "selected-by-gateway"],
)
def test_gateway_pods_are_exempt(labels: str, annotations: str, world: str) -> None:
    findings = run(pod(labels=labels, annotations=annotations), context=world)
    assert only(findings, "MW101") == []


def test_pod_labelled_istio_but_not_a_gateway_is_checked() -> None:
    findings = only(run(pod(labels="{app: grafana, istio: grafana}")), "MW101")
    assert len(findings) == 1
    assert findings[0].missing and findings[0].missing[0].kind == GATEWAY


def test_gateway_in_another_namespace_does_not_count_when_gateways_are_namespace_scoped() -> None:
    gateway = """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: private, namespace: edge}
        spec:
          selector: {gw: private}
          servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
    """
    findings = run(pod(labels="{gw: private}"), context=gateway, policy="gateways: {namespaceScoped: true}")
    assert len(only(findings, "MW101")) == 1


# --- MW102 ---------------------------------------------------------------------------------------

OFF = "{sidecar.istio.io/rewriteAppHTTPProbers: 'false'}"
HTTP_READINESS = "[{name: web, readinessProbe: {httpGet: {path: /ready, port: 8080}}}]"


def peer_authentication(mode: str, namespace: str = "default", selector: str = "", name: str = "mtls") -> str:
    selector_block = f"\n          selector: {{matchLabels: {selector}}}" if selector else ""
    return f"""
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: {{name: {name}, namespace: {namespace}}}
        spec:{selector_block}
          mtls: {{mode: {mode}}}
    """


def test_http_probe_without_rewrite_under_strict_mtls_is_denied() -> None:
    findings = only(
        run(deployment(annotations=OFF, containers=HTTP_READINESS), context=peer_authentication("STRICT")),
        "MW102",
    )
    assert said(findings) == [
        ("MW102/probe-fails-under-strict", "spec.template.spec.containers[0].readinessProbe")
    ]
    assert findings[0].action == "deny"
    assert "PeerAuthentication default/mtls" in findings[0].message
    assert "httpGet port 8080 path /ready" in findings[0].message
    assert 'sidecar.istio.io/rewriteAppHTTPProbers: "false"' in findings[0].fix
    assert "spec.template.metadata.annotations" in findings[0].fix


def test_unknown_mtls_is_a_warning() -> None:
    findings = only(run(deployment(annotations=OFF, containers=HTTP_READINESS)), "MW102")
    assert [(f.message_id, f.action) for f in findings] == [("MW102/probe-fails-once-strict", "warn")]
    assert "mTLS is unknown" in findings[0].message


def test_strict_from_config_is_denied() -> None:
    findings = run(deployment(annotations=OFF, containers=HTTP_READINESS), policy="mesh: {mtls: STRICT}")
    assert [(f.message_id, f.action) for f in only(findings, "MW102")] == [
        ("MW102/probe-fails-under-strict", "deny")
    ]


def test_strict_profile_denies_the_warning_too() -> None:
    findings = run(deployment(annotations=OFF, containers=HTTP_READINESS), policy="profile: strict")
    assert [(f.message_id, f.action) for f in only(findings, "MW102")] == [
        ("MW102/probe-fails-once-strict", "deny")
    ]


@pytest.mark.parametrize(
    ("world", "action"),
    [
        (peer_authentication("STRICT", namespace="istio-system"), "deny"),
        (
            peer_authentication("STRICT", namespace="istio-system")
            + "---"
            + peer_authentication("PERMISSIVE"),
            "warn",
        ),
        (
            peer_authentication("PERMISSIVE")
            + "---"
            + peer_authentication("STRICT", selector="{app: web}", name="w"),
            "deny",
        ),
        (
            peer_authentication("STRICT")
            + "---"
            + peer_authentication("PERMISSIVE", selector="{app: web}", name="w"),
            "warn",
        ),
        (
            peer_authentication("STRICT")
            + "---"
            + peer_authentication("UNSET", selector="{app: web}", name="w"),
            "deny",
        ),
        (peer_authentication("STRICT", selector="{app: other}"), "warn"),
        (peer_authentication("STRICT", namespace="other"), "warn"),
    ],
    ids=[
        "mesh",
        "namespace-over-mesh",
        "workload-over-namespace",
        "workload-permissive",
        "unset-inherits",
        "selector-elsewhere",
        "other-namespace",
    ],
)
def test_peer_authentication_precedence(world: str, action: str) -> None:
    findings = run(deployment(annotations=OFF, containers=HTTP_READINESS), context=world)
    assert [f.action for f in only(findings, "MW102")] == [action]


def test_port_level_mtls_of_a_workload_policy_applies_to_the_probe_port() -> None:
    world = """
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: {name: web, namespace: default}
        spec:
          selector: {matchLabels: {app: web}}
          mtls: {mode: STRICT}
          portLevelMtls:
            8080: {mode: PERMISSIVE}
    """
    containers = (
        "[{name: web, ports: [{name: http, containerPort: 8080}], livenessProbe: {httpGet: {port: http}}}]"
    )
    findings = run(deployment(annotations=OFF, containers=containers), context=world)
    assert [f.action for f in only(findings, "MW102")] == ["warn"]


def test_config_probe_rewrite_off_needs_the_annotation_true() -> None:
    policy = "mesh: {probeRewrite: false, mtls: STRICT}"
    findings = only(run(deployment(containers=HTTP_READINESS), policy=policy), "MW102")
    assert [f.action for f in findings] == ["deny"]
    assert findings[0].fix.startswith('add the annotation sidecar.istio.io/rewriteAppHTTPProbers: "true"')
    on = "{sidecar.istio.io/rewriteAppHTTPProbers: 'true'}"
    assert only(run(deployment(annotations=on, containers=HTTP_READINESS), policy=policy), "MW102") == []


def test_one_finding_per_probe_including_grpc_and_tcp() -> None:
    containers = """[
        {name: web, livenessProbe: {grpc: {port: 9090}}, readinessProbe: {tcpSocket: {port: 8080}},
         startupProbe: {exec: {command: [true]}}},
        {name: side, startupProbe: {httpGet: {path: /s, port: 81}}}]"""
    findings = only(
        run(deployment(annotations=OFF, containers=containers), policy="mesh: {mtls: STRICT}"), "MW102"
    )
    assert said(findings) == [
        ("MW102/probe-fails-under-strict", "spec.template.spec.containers[0].livenessProbe"),
        ("MW102/tcp-probe-always-succeeds", "spec.template.spec.containers[0].readinessProbe"),
        ("MW102/probe-fails-under-strict", "spec.template.spec.containers[1].startupProbe"),
    ]
    assert [f.action for f in findings] == ["deny", "warn", "deny"]


@pytest.mark.parametrize(
    ("annotations", "containers", "spec_extra"),
    [
        (OFF, "[{name: web, readinessProbe: {httpGet: {path: /app-health/web/readyz, port: 15020}}}]", ""),
        ("{}", HTTP_READINESS, ""),
        ("{sidecar.istio.io/rewriteAppHTTPProbers: 'true'}", HTTP_READINESS, ""),
        (OFF, "[{name: istio-proxy, readinessProbe: {httpGet: {path: /healthz/ready, port: 15021}}}]", ""),
        (OFF, "[{name: web, readinessProbe: {exec: {command: [cat, /ready]}}}]", ""),
        (OFF, HTTP_READINESS, "hostNetwork: true"),
    ],
    ids=["already-rewritten", "rewrite-on", "annotation-true", "proxy-own-probe", "exec", "hostNetwork"],
)
def test_probe_near_misses(annotations: str, containers: str, spec_extra: str) -> None:
    manifest = deployment(annotations=annotations, containers=containers)
    if spec_extra:
        manifest = manifest.replace("containers:", f"{spec_extra}\n              containers:", 1)
    assert only(run(manifest, policy="mesh: {mtls: STRICT}"), "MW102") == []


def test_gateway_pods_are_exempt_from_probe_checks() -> None:
    manifest = deployment(labels="{istio: ingressgateway}", annotations=OFF, containers=HTTP_READINESS)
    assert only(run(manifest, policy="mesh: {mtls: STRICT}"), "MW102") == []


def test_probe_check_runs_without_a_complete_inventory() -> None:
    findings = run(
        deployment(annotations=OFF, containers=HTTP_READINESS), policy="mesh: {mtls: STRICT}", complete=False
    )
    assert [f.action for f in only(findings, "MW102")] == ["deny"]


@pytest.mark.parametrize("code", ["MW101", "MW102"])
def test_documented_examples(code: str) -> None:
    rule = CATALOGUE.find(code)
    assert rule is not None
    assert only(run(rule.bad), code), "the bad example must trigger the rule"
    assert only(run(rule.good), code) == [], "the good example must not trigger the rule"
