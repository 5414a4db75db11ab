"""MW103 sidecar-annotation-invalid and MW104 istio-metadata-misplaced."""

import pytest

from tests.helpers import only, run, said
from webhook.findings import Autofix, Edit, Safety
from webhook.istio.annotations import ANNOTATIONS, LABELS
from webhook.rules import CATALOGUE


def template_with(annotations: str = "{}", labels: str = "{app: web, version: v1}", own: str = "{}") -> str:
    return f"""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          annotations: {own}
        spec:
          selector:
            matchLabels: {{app: web}}
          template:
            metadata:
              labels: {labels}
              annotations: {annotations}
            spec:
              containers: [{{name: web, image: web:1}}]
    """


def pod_with(annotations: str = "{}", labels: str = "{app: web, version: v1}") -> str:
    return f"""
        apiVersion: v1
        kind: Pod
        metadata:
          name: web
          labels: {labels}
          annotations: {annotations}
        spec:
          containers: [{{name: web, image: web:1}}]
    """


# --- MW103 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "corrected"),
    [
        (
            "traffic.sidecar.istio.io/excludeOutboundIPRanges",
            "10.0.0.0/8, 172.16.0.0/12",
            "10.0.0.0/8,172.16.0.0/12",
        ),
        ("traffic.sidecar.istio.io/excludeOutboundIPRanges", "10.0.0.1", "10.0.0.1/32"),
        ("traffic.sidecar.istio.io/includeOutboundIPRanges", "10.0.0.0/8,,fd00::/8", "10.0.0.0/8,fd00::/8"),
        ("traffic.sidecar.istio.io/includeOutboundIPRanges", " *", "*"),
        ("traffic.sidecar.istio.io/excludeInboundPorts", "8000-8002", "8000,8001,8002"),
        ("traffic.sidecar.istio.io/excludeOutboundPorts", "80,,443,", "80,443"),
        ("traffic.sidecar.istio.io/includeOutboundPorts", "8080-8081", "8080,8081"),
        ("traffic.sidecar.istio.io/includeInboundPorts", "8080, 70000", None),
        ("traffic.sidecar.istio.io/excludeInboundPorts", "*", None),
        ("traffic.sidecar.istio.io/excludeOutboundIPRanges", "*", None),
        ("sidecar.istio.io/interceptionMode", "tproxy", "TPROXY"),
        ("sidecar.istio.io/interceptionMode", "IPTABLES", None),
        ("sidecar.istio.io/rewriteAppHTTPProbers", "yes", "true"),
        ("status.sidecar.istio.io/port", "15020x", None),
        ("readiness.status.sidecar.istio.io/initialDelaySeconds", "bar", None),
        ("readiness.status.sidecar.istio.io/periodSeconds", "10s", "10"),
        ("readiness.status.sidecar.istio.io/failureThreshold", "-1", None),
        ("sidecar.istio.io/proxyCPU", "0.5 cpu", None),
        ("sidecar.istio.io/proxyMemory", "128mb", "128Mi"),
        ("sidecar.istio.io/proxyMemoryLimit", "1GiB", "1Gi"),
        ("sidecar.istio.io/proxyCPULimit", "-100m", None),
    ],
)
def test_refused_annotation_values(key: str, value: str, corrected: str | None) -> None:
    findings = only(run(template_with(f"{{{key}: '{value}'}}")), "MW103")
    assert said(findings) == [("MW103/invalid-annotation", f"spec.template.metadata.annotations.{key}")]
    assert findings[0].action == "deny"
    if corrected is not None:
        assert findings[0].fix == f'set annotation {key}: "{corrected}" in spec.template.metadata.annotations'
    else:
        assert findings[0].fix.startswith(f"set annotation {key} in spec.template.metadata.annotations to ")


@pytest.mark.parametrize(
    ("key", "value", "corrected"),
    [
        ("traffic.sidecar.istio.io/excludeOutboundIPRanges", "10.0.0.1, fd00::1", "10.0.0.1/32,fd00::1/128"),
        ("traffic.sidecar.istio.io/excludeInboundPorts", "8000-8002", "8000,8001,8002"),
        ("sidecar.istio.io/interceptionMode", "tproxy", "TPROXY"),
        ("sidecar.istio.io/rewriteAppHTTPProbers", "yes", "true"),
        ("readiness.status.sidecar.istio.io/periodSeconds", "10s", "10"),
        ("sidecar.istio.io/proxyMemoryLimit", "1GiB", "1Gi"),
        ("sidecar.istio.io/proxyCPU", "1.5 m", "1.5m"),
        ("traffic.sidecar.istio.io/includeOutboundIPRanges", "“10.0.0.0/8”", "10.0.0.0/8"),
        ("sidecar.istio.io/rewriteAppHTTPProbers", "‘false’", "false"),
        ("status.sidecar.istio.io/port", "«15020»", "15020"),
        ("traffic.sidecar.istio.io/excludeInboundPorts", "“8000-8001”", "8000,8001"),
    ],
)
def test_an_evident_correction_is_a_safe_fix(key: str, value: str, corrected: str) -> None:
    for manifest, path in [
        (template_with(f"{{{key}: '{value}'}}"), ("spec", "template", "metadata", "annotations", key)),
        (pod_with(f"{{{key}: '{value}'}}"), ("metadata", "annotations", key)),
    ]:
        [finding] = only(run(manifest), "MW103")
        assert finding.autofix == Autofix(finding.fix, (Edit(path, value, corrected),), Safety.SAFE)
        assert f'"{corrected}"' in finding.fix


def test_typographic_quotes_are_named_as_the_problem() -> None:
    [finding] = only(run(pod_with("{sidecar.istio.io/interceptionMode: “REDIRECT”}")), "MW103")
    assert "wrapped in typographic quotes" in finding.message
    assert (
        finding.fix == 'set annotation sidecar.istio.io/interceptionMode: "REDIRECT" in metadata.annotations'
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("sidecar.istio.io/proxyMemory", "128mb"),  # 128Mi or 128M?
        ("sidecar.istio.io/proxyMemory", "128MB"),
        ("sidecar.istio.io/proxyMemory", "“128mb”"),
        ("traffic.sidecar.istio.io/includeInboundPorts", "8080, 70000"),
        ("sidecar.istio.io/interceptionMode", "“IPTABLES”"),
    ],
)
def test_no_fix_when_the_value_meant_is_not_certain(key: str, value: str) -> None:
    [finding] = only(run(template_with(f"{{{key}: '{value}'}}")), "MW103")
    assert finding.autofix is None


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("traffic.sidecar.istio.io/includeInboundPorts", "*"),
        ("traffic.sidecar.istio.io/includeInboundPorts", ""),
        ("traffic.sidecar.istio.io/excludeInboundPorts", " 15020 , 15021 "),
        ("traffic.sidecar.istio.io/excludeOutboundPorts", "0080"),
        ("traffic.sidecar.istio.io/includeOutboundIPRanges", "*"),
        ("traffic.sidecar.istio.io/includeOutboundIPRanges", ""),
        ("traffic.sidecar.istio.io/excludeOutboundIPRanges", "10.0.0.1/8,fd00::/8"),
        ("sidecar.istio.io/interceptionMode", "NONE"),
        ("sidecar.istio.io/rewriteAppHTTPProbers", "False"),
        ("status.sidecar.istio.io/port", " 15020 "),
        ("readiness.status.sidecar.istio.io/failureThreshold", "4294967295"),
        ("sidecar.istio.io/proxyCPU", "100m"),
        ("sidecar.istio.io/proxyMemory", "1.5Gi"),
        ("sidecar.istio.io/proxyMemoryLimit", "1e9"),
        ("proxy.istio.io/config", "not validated here"),
    ],
)
def test_accepted_annotation_values(key: str, value: str) -> None:
    assert only(run(template_with(f"{{{key}: '{value}'}}")), "MW103") == []


def test_huge_numbers_are_refused_without_crashing() -> None:
    findings = run(pod_with("{readiness.status.sidecar.istio.io/periodSeconds: '" + "9" * 5000 + "'}"))
    assert [f.message_id for f in findings if f.code in ("MW103", "MW000")] == ["MW103/invalid-annotation"]
    assert len(findings[0].message) < 256


@pytest.mark.parametrize(("value", "corrected"), [("True", "true"), ("enabled", "true"), ("no", "false")])
def test_inject_label_must_be_exactly_true_or_false(value: str, corrected: str) -> None:
    findings = only(
        run(pod_with(labels=f"{{app: web, version: v1, sidecar.istio.io/inject: '{value}'}}")), "MW103"
    )
    assert said(findings) == [("MW103/invalid-label", "metadata.labels.sidecar.istio.io/inject")]
    assert findings[0].fix == f'set label sidecar.istio.io/inject: "{corrected}" in metadata.labels'


@pytest.mark.parametrize(("value", "corrected"), [("False", "false"), ("no", "false"), ("True", None)])
def test_an_inject_label_is_fixed_only_when_it_opts_out(value: str, corrected: str | None) -> None:
    labels = f"{{app: web, version: v1, sidecar.istio.io/inject: '{value}'}}"
    [finding] = only(run(template_with(labels=labels)), "MW103")
    path = ("spec", "template", "metadata", "labels", "sidecar.istio.io/inject")
    expected = Autofix(finding.fix, (Edit(path, value, corrected),), Safety.SAFE) if corrected else None
    assert finding.autofix == expected


def test_one_finding_per_invalid_key_on_a_pod() -> None:
    keys = ["sidecar.istio.io/interceptionMode", "status.sidecar.istio.io/port", "sidecar.istio.io/proxyCPU"]
    annotations = "{" + ", ".join(f"{key}: x" for key in keys) + "}"
    assert said(run(pod_with(annotations)), "MW103") == [
        ("MW103/invalid-annotation", f"metadata.annotations.{key}") for key in keys
    ]


def test_annotations_on_the_workloads_own_metadata_are_not_validated_as_pod_annotations() -> None:
    findings = run(template_with(own="{traffic.sidecar.istio.io/excludeInboundPorts: 'a-b'}"))
    assert only(findings, "MW103") == []
    assert said(findings, "MW104") == [
        (
            "MW104/pod-annotation-on-workload",
            "metadata.annotations.traffic.sidecar.istio.io/excludeInboundPorts",
        )
    ]


# --- MW104 ---------------------------------------------------------------------------------------


def test_pod_annotation_on_workload_metadata_is_misplaced() -> None:
    findings = only(run(template_with(own="{sidecar.istio.io/proxyCPU: 500m}")), "MW104")
    assert said(findings) == [
        ("MW104/pod-annotation-on-workload", "metadata.annotations.sidecar.istio.io/proxyCPU")
    ]
    assert findings[0].action == "warn"
    assert (
        findings[0].fix
        == 'move annotation sidecar.istio.io/proxyCPU: "500m" to spec.template.metadata.annotations'
    )


TEMPLATE_ANNOTATIONS = ("spec", "template", "metadata", "annotations")
OWN_ANNOTATIONS = ("metadata", "annotations")


def test_moving_a_pod_annotation_to_the_template_is_a_safe_fix() -> None:
    [finding] = only(run(template_with(own="{sidecar.istio.io/proxyCPU: 500m}")), "MW104")
    key = "sidecar.istio.io/proxyCPU"
    edits = (Edit((*OWN_ANNOTATIONS, key), "500m", None), Edit((*TEMPLATE_ANNOTATIONS, key), None, "500m"))
    assert finding.autofix == Autofix(finding.fix, edits, Safety.SAFE)


def test_a_pod_annotation_the_template_already_has_is_removed_from_the_workload() -> None:
    key = "sidecar.istio.io/proxyCPU"
    [finding] = only(run(template_with(f"{{{key}: 500m}}", own=f"{{{key}: 500m}}")), "MW104")
    assert finding.autofix == Autofix(
        finding.fix, (Edit((*OWN_ANNOTATIONS, key), "500m", None),), Safety.SAFE
    )


@pytest.mark.parametrize(
    ("template", "own"),
    [
        ("{sidecar.istio.io/proxyCPU: 200m}", "{sidecar.istio.io/proxyCPU: 500m}"),  # which value is meant?
        ("{}", "{sidecar.istio.io/inject: 'false'}"),  # as a label it would take the sidecar away
        ("{}", "{sidecar.istio.io/inject: 'true'}"),
    ],
)
def test_no_fix_for_a_misplaced_annotation_whose_move_is_not_certain(template: str, own: str) -> None:
    [finding] = only(run(template_with(template, own=own)), "MW104")
    assert finding.message_id == "MW104/pod-annotation-on-workload"
    assert finding.autofix is None


def test_cronjob_misplaced_annotation_points_at_its_template() -> None:
    findings = only(
        run("""
            apiVersion: batch/v1
            kind: CronJob
            metadata:
              name: report
              annotations: {proxy.istio.io/config: '{holdApplicationUntilProxyStarts: true}'}
            spec:
              schedule: "0 * * * *"
              jobTemplate:
                spec:
                  template:
                    metadata:
                      labels: {app: report, version: v1}
                    spec:
                      containers: [{name: report, image: report:1}]
        """),
        "MW104",
    )
    assert said(findings) == [
        ("MW104/pod-annotation-on-workload", "metadata.annotations.proxy.istio.io/config")
    ]
    assert findings[0].fix.endswith("to spec.jobTemplate.spec.template.metadata.annotations")


def test_inject_annotation_on_workload_metadata_moves_to_template_labels() -> None:
    findings = only(run(template_with(own="{sidecar.istio.io/inject: 'false'}")), "MW104")
    assert said(findings) == [
        ("MW104/pod-annotation-on-workload", "metadata.annotations.sidecar.istio.io/inject")
    ]
    assert (
        findings[0].fix
        == 'move it to spec.template.metadata.labels as the label sidecar.istio.io/inject: "false"'
    )


CANNOT_OPT_IN = "MW104/inject-annotation-cannot-opt-in"
DEPRECATED = "MW104/inject-annotation-deprecated"
OVERRIDDEN = "MW104/inject-annotation-overridden"


@pytest.mark.parametrize(
    ("value", "labels", "message_id", "fix"),
    [
        (
            "true",
            "{app: web, version: v1}",
            CANNOT_OPT_IN,
            'replace the annotation with the label sidecar.istio.io/inject: "true" in spec.template',
        ),
        (
            "false",
            "{app: web, version: v1}",
            DEPRECATED,
            'replace the annotation with the label sidecar.istio.io/inject: "false" in spec.template',
        ),
        (
            "false",
            "{app: web, version: v1, sidecar.istio.io/inject: 'false'}",
            DEPRECATED,
            "remove the annotation: spec.template.metadata.labels already has the label",
        ),
        (
            "true",
            "{app: web, version: v1, sidecar.istio.io/inject: 'false'}",
            CANNOT_OPT_IN,
            'remove the annotation: Istio reads only the label sidecar.istio.io/inject: "false"',
        ),
    ],
)
def test_inject_annotation_in_template(value: str, labels: str, message_id: str, fix: str) -> None:
    findings = only(run(template_with(f"{{sidecar.istio.io/inject: '{value}'}}", labels=labels)), "MW104")
    assert said(findings) == [(message_id, "spec.template.metadata.annotations.sidecar.istio.io/inject")]
    assert findings[0].fix.startswith(fix)


INJECT_ANNOTATION = (*TEMPLATE_ANNOTATIONS, "sidecar.istio.io/inject")
INJECT_LABEL = ("spec", "template", "metadata", "labels", "sidecar.istio.io/inject")


@pytest.mark.parametrize(
    ("value", "labels", "edits", "safety"),
    [
        (
            "false",
            "{app: web}",
            [(INJECT_ANNOTATION, "false", None), (INJECT_LABEL, None, "false")],
            Safety.SAFE,
        ),
        ("no", "{app: web}", [(INJECT_ANNOTATION, "no", None), (INJECT_LABEL, None, "false")], Safety.SAFE),
        (
            "false",
            "{app: web, sidecar.istio.io/inject: 'false'}",
            [(INJECT_ANNOTATION, "false", None)],
            Safety.SAFE,
        ),
        (
            "false",
            "{app: web, sidecar.istio.io/inject: 'true'}",
            [(INJECT_ANNOTATION, "false", None)],
            Safety.SAFE,
        ),
        (
            "true",
            "{app: web}",
            [(INJECT_ANNOTATION, "true", None), (INJECT_LABEL, None, "true")],
            Safety.UNSAFE,
        ),
        (
            "true",
            "{app: web, sidecar.istio.io/inject: 'true'}",
            [(INJECT_ANNOTATION, "true", None)],
            Safety.UNSAFE,
        ),
    ],
)
def test_the_inject_annotation_becomes_the_label_safely_only_when_it_opts_out(
    value: str, labels: str, edits: list[tuple[tuple[str, ...], str | None, str | None]], safety: Safety
) -> None:
    [finding] = only(run(template_with(f"{{sidecar.istio.io/inject: '{value}'}}", labels=labels)), "MW104")
    assert finding.autofix == Autofix(finding.fix, tuple(Edit(*edit) for edit in edits), safety)


def test_an_inject_annotation_that_says_neither_has_no_fix() -> None:
    [finding] = only(run(template_with("{sidecar.istio.io/inject: 'maybe'}")), "MW104")
    assert finding.message_id == CANNOT_OPT_IN
    assert finding.autofix is None
    assert finding.fix.startswith(
        'replace the annotation with the label sidecar.istio.io/inject: "true" or "false"'
    )


def test_an_overridden_inject_annotation_is_removed_before_istio_1_15() -> None:
    labels = "{app: web, sidecar.istio.io/inject: 'true'}"
    manifest = pod_with("{sidecar.istio.io/inject: 'false'}", labels=labels)
    [finding] = only(run(manifest, policy="mesh: {istioVersion: '1.14'}"), "MW104")
    assert finding.message_id == OVERRIDDEN
    edit = Edit(("metadata", "annotations", "sidecar.istio.io/inject"), "false", None)
    assert finding.autofix == Autofix(finding.fix, (edit,), Safety.SAFE)


OLD_ISTIO = "mesh: {istioVersion: '1.14'}"


def test_inject_annotation_false_is_not_deprecated_before_istio_1_15() -> None:
    manifest = template_with("{sidecar.istio.io/inject: 'false'}")
    assert only(run(manifest, policy=OLD_ISTIO), "MW104") == []
    findings = run(manifest, policy="mesh: {istioVersion: '1.15'}")
    assert [f.message_id for f in findings if f.code == "MW104"] == [DEPRECATED]


@pytest.mark.parametrize(
    ("value", "labels", "message_id"),
    [
        ("true", "{app: web, version: v1}", CANNOT_OPT_IN),
        ("false", "{app: web, version: v1, sidecar.istio.io/inject: 'true'}", OVERRIDDEN),
    ],
)
def test_inject_annotation_before_istio_1_15_still_found_when_it_misleads(
    value: str, labels: str, message_id: str
) -> None:
    manifest = template_with(f"{{sidecar.istio.io/inject: '{value}'}}", labels=labels)
    findings = only(run(manifest, policy=OLD_ISTIO), "MW104")
    assert said(findings) == [(message_id, "spec.template.metadata.annotations.sidecar.istio.io/inject")]


def test_inject_annotation_on_a_pod() -> None:
    findings = only(run(pod_with("{sidecar.istio.io/inject: 'true'}")), "MW104")
    assert said(findings) == [(CANNOT_OPT_IN, "metadata.annotations.sidecar.istio.io/inject")]
    assert findings[0].fix.endswith("in metadata.labels")


def test_namespace_annotations() -> None:
    findings = only(
        run("""
            apiVersion: v1
            kind: Namespace
            metadata:
              name: shop
              annotations:
                sidecar.istio.io/inject: "true"
                traffic.sidecar.istio.io/excludeOutboundPorts: "5432"
                topology.istio.io/controlPlaneClusters: "*"
                kubernetes.io/ingress.class: foo
        """),
        "MW104",
    )
    assert said(findings) == [
        ("MW104/pod-annotation-on-namespace", "metadata.annotations.sidecar.istio.io/inject"),
        (
            "MW104/pod-annotation-on-namespace",
            "metadata.annotations.traffic.sidecar.istio.io/excludeOutboundPorts",
        ),
    ]
    assert findings[0].fix == "remove the annotation and label Namespace shop istio-injection=enabled"


API_VERSIONS = {
    "Service": "v1",
    "Ingress": "networking.k8s.io/v1",
    "VirtualService": "networking.istio.io/v1",
    "Gateway": "networking.istio.io/v1",
    "PeerAuthentication": "security.istio.io/v1",
}


@pytest.mark.parametrize(
    ("kind", "key", "message_id", "fix"),
    [
        (
            "Service",
            "networking.istio.io/exportThree",
            "misspelt-annotation",
            "rename annotation networking.istio.io/exportThree to networking.istio.io/exportTo",
        ),
        (
            "Ingress",
            "istio.io/ingress.class",
            "misspelt-annotation",
            "rename annotation istio.io/ingress.class to kubernetes.io/ingress.class",
        ),
        (
            "VirtualService",
            "networking.istio.io/exportto",
            "misspelt-annotation",
            "to networking.istio.io/exportTo",
        ),
        (
            "Service",
            "networking.istio.io/gatewayPort",
            "label-as-annotation",
            "move networking.istio.io/gatewayPort from metadata.annotations to metadata.labels",
        ),
        (
            "Gateway",
            "zzz.istio.io/qqq",
            "unknown-annotation",
            "remove annotation zzz.istio.io/qqq from metadata.annotations",
        ),
        ("PeerAuthentication", "security.istio.io/tlsmode", "unknown-annotation", "security.istio.io"),
    ],
)
def test_unknown_istio_keys_on_any_object(kind: str, key: str, message_id: str, fix: str) -> None:
    manifest = f"""
        apiVersion: {API_VERSIONS[kind]}
        kind: {kind}
        metadata:
          name: thing
          annotations: {{{key}: x}}
        spec: {{}}
    """
    findings = only(run(manifest), "MW104")
    assert said(findings) == [(f"MW104/{message_id}", f"metadata.annotations.{key}")]
    assert fix in findings[0].fix


def test_unknown_key_in_a_pod_template() -> None:
    findings = only(run(template_with("{sidecar.istio.io/proxyCpu: 500m}")), "MW104")
    assert said(findings) == [
        ("MW104/misspelt-annotation", "spec.template.metadata.annotations.sidecar.istio.io/proxyCpu")
    ]
    assert findings[0].fix == "rename annotation sidecar.istio.io/proxyCpu to sidecar.istio.io/proxyCPU"


def test_unknown_key_on_workload_metadata_is_also_told_to_move() -> None:
    findings = only(run(template_with(own="{sidecar.istio.io/proxyCpu: 500m}")), "MW104")
    assert said(findings) == [("MW104/misspelt-annotation", "metadata.annotations.sidecar.istio.io/proxyCpu")]
    assert findings[0].fix.endswith("and move it to spec.template.metadata.annotations")


def test_a_key_misspelt_only_in_case_is_renamed_and_moved_where_istio_reads_it() -> None:
    [finding] = only(run(template_with(own="{sidecar.istio.io/proxyCpu: 500m}")), "MW104")
    edits = (
        Edit((*OWN_ANNOTATIONS, "sidecar.istio.io/proxyCpu"), "500m", None),
        Edit((*TEMPLATE_ANNOTATIONS, "sidecar.istio.io/proxyCPU"), None, "500m"),
    )
    assert finding.autofix == Autofix(finding.fix, edits, Safety.SAFE)
    [finding] = only(run(template_with("{sidecar.istio.io/proxyCpu: 500m}")), "MW104")
    assert finding.autofix is not None
    assert [e.path[-1] for e in finding.autofix.edits] == [
        "sidecar.istio.io/proxyCpu",
        "sidecar.istio.io/proxyCPU",
    ]


@pytest.mark.parametrize(
    ("annotations", "key"),
    [
        ("{networking.istio.io/exportThree: x}", "networking.istio.io/exportThree"),  # a guess
        ("{sidecar.istio.io/proxyCpu: 500m, sidecar.istio.io/proxyCPU: 1}", "sidecar.istio.io/proxyCpu"),
    ],
)
def test_no_rename_when_the_key_meant_is_not_certain(annotations: str, key: str) -> None:
    findings = [f for f in only(run(pod_with(annotations)), "MW104") if f.path.endswith(key)]
    assert [(f.message_id, f.autofix) for f in findings] == [("MW104/misspelt-annotation", None)]


def namespace_with(annotations: str, labels: str = "{}") -> str:
    return f"""
        apiVersion: v1
        kind: Namespace
        metadata: {{name: shop, labels: {labels}, annotations: {annotations}}}
    """


def test_a_label_written_as_an_annotation_moves_to_the_labels_as_an_unsafe_fix() -> None:
    [finding] = only(run(namespace_with("{istio.io/dataplane-mode: ambient}")), "MW104")
    edits = (
        Edit(("metadata", "annotations", "istio.io/dataplane-mode"), "ambient", None),
        Edit(("metadata", "labels", "istio.io/dataplane-mode"), None, "ambient"),
    )
    assert finding.autofix == Autofix(finding.fix, edits, Safety.UNSAFE)


@pytest.mark.parametrize(
    ("annotations", "labels"),
    [
        ("{istio.io/dataplane-mode: ambient}", "{istio.io/dataplane-mode: none}"),  # which one?
        ("{istio.io/use-waypoint: 'not a label value'}", "{}"),
    ],
)
def test_no_label_fix_when_the_label_cannot_take_the_value(annotations: str, labels: str) -> None:
    [finding] = only(run(namespace_with(annotations, labels)), "MW104")
    assert finding.message_id == "MW104/label-as-annotation"
    assert finding.autofix is None


@pytest.mark.parametrize(
    "annotations",
    [
        "{sidecar.istio.io/status: '{}', istio.io/rev: canary, gateway.istio.io/controller-version: '5'}",
        "{ambient.istio.io/redirection: enabled, proxy.istio.io/config: '{}'}",
        "{kubernetes.io/ingress.class: istio, helm.sh/hook: test, myistio.io/thing: x}",
        "{sidecar.istio.io/statsInclusionPrefixes: cluster.outbound}",
    ],
)
def test_known_ignored_or_foreign_keys_on_pods_pass(annotations: str) -> None:
    assert only(run(pod_with(annotations)), "MW104") == []


def test_status_annotation_on_workload_metadata_is_ignored() -> None:
    assert only(run(template_with(own="{sidecar.istio.io/status: '{}'}")), "MW104") == []


def test_istio_catalogue_has_the_keys_the_rules_rely_on() -> None:
    assert ANNOTATIONS["sidecar.istio.io/inject"].deprecated
    assert not LABELS["sidecar.istio.io/inject"].deprecated
    assert ANNOTATIONS["networking.istio.io/exportTo"].belongs_on("Service")
    assert ANNOTATIONS["galley.istio.io/analyze-suppress"].belongs_on("Anything")
    assert "proxy.istio.io/config" in ANNOTATIONS


@pytest.mark.parametrize("code", ["MW103", "MW104"])
def test_documented_examples(code: str) -> None:
    rule = CATALOGUE.find(code)
    assert rule is not None
    assert only(run(rule.bad), code), "the bad example must trigger the rule"
    assert only(run(rule.good), code) == [], "the good example must not trigger the rule"
