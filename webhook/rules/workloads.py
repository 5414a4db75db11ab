"""Workload and pod rules (MW101, MW102): identity labels and health probes of in-mesh pods."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from webhook.findings import Action, Autofix, Edit, Safety, Violation
from webhook.inventory.detail import Detail
from webhook.istio.mesh import (
    PROXY_CONTAINER,
    REWRITE_PROBES_ANNOTATION,
    gateway_lookup,
    mtls_for,
    parse_bool,
    probe_rewrite_enabled,
)
from webhook.kinds import GATEWAY, NAMESPACE, PEER_AUTHENTICATION, POD_KINDS
from webhook.kube import PodTemplate, container_port, is_controller_managed
from webhook.model import Resource, as_dict, as_list, scalar_text
from webhook.rules.registry import Context, Input, rule

APP_LABELS = ("app", "app.kubernetes.io/name", "service.istio.io/canonical-name")
VERSION_LABELS = ("version", "app.kubernetes.io/version", "service.istio.io/canonical-revision")
DEFAULT_VERSION = "v1"
MAX_LABEL_VALUE = 63
VERSION_SUFFIX = re.compile(r"-(v[0-9][a-z0-9.]*)$")  # reviews-v2, api-v1beta1

# What deciding whether a pod is an in-mesh application pod reads: its Namespace's injection labels
# and the Gateways that would make it a gateway pod. Without them the policy's mesh facts decide.
MESH_MEMBERSHIP_INPUTS = (
    Input(NAMESPACE, Detail.METADATA, optional=True),
    Input(GATEWAY, Detail.SPEC, optional=True),
)

PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
AGENT_PORT = 15020
AGENT_PROBE_PREFIX = "/app-health/"


def _meshed_app_pod(resource: Resource, context: Context) -> PodTemplate | None:
    """The pod or template, when it runs a sidecar and is not a gateway (MW101 and MW102 skip gateways)."""
    facts = context.facts(resource)
    return facts.pod if facts.in_mesh and not facts.is_gateway_pod else None


def _where(template: PodTemplate) -> str:
    return "pod template" if template.is_template else "pod"


def _label_text(key: str, value: str) -> str:
    """`key: value` as it would be written in YAML, quoting values YAML would not read as text."""
    import yaml  # a finding's text needs it, a clean check does not

    try:  # beyond a label value's 63 characters, YAML could take long or fail (int() of 5,000 digits)
        plain = len(value) <= 63 and yaml.safe_load(value) == value
    except yaml.YAMLError:
        plain = False
    return f"{key}: {value}" if plain and value else f'{key}: "{value}"'


# --- MW101 ---------------------------------------------------------------------------------------


def _identity_value(labels: Mapping[str, str], keys: tuple[str, ...]) -> str:
    return next((labels[k] for k in keys if labels.get(k)), "")


@rule(
    code="MW101",
    name="workload-identity-labels",
    kinds=POD_KINDS,
    default=Action.DENY,
    inputs=MESH_MEMBERSHIP_INPUTS,
    options={"requireLiteral": False},
    messages={
        "no-app-label": "an in-mesh pod or template without an `app` identity label",
        "no-version-label": "an in-mesh pod or template without a `version` identity label",
        "no-app-or-version-label": "an in-mesh pod or template with neither identity label",
    },
    fixes={
        "no-app-label": Safety.UNSAFE,
        "no-version-label": Safety.UNSAFE,
        "no-app-or-version-label": Safety.UNSAFE,
    },
    summary="""
        Checks that every pod in the mesh carries an application identity label (`app`,
        `app.kubernetes.io/name` or `service.istio.io/canonical-name`) and a version identity label
        (`version`, `app.kubernetes.io/version` or `service.istio.io/canonical-revision`). With the
        option `requireLiteral: true`, only the literal `app` and `version` labels count. Gateway
        pods are exempt. A pod is in the mesh when it has a sidecar already or Istio's injector
        will add one: its namespace is labelled `istio-injection=enabled` or `istio.io/rev`, or,
        in a namespace with neither, the pod is labelled `sidecar.istio.io/inject: "true"` or
        `istio.io/rev`; the label `sidecar.istio.io/inject: "false"` (or, without the label, the
        deprecated annotation) opts it out. A namespace whose labels are unknown counts as
        injected (`mesh.assumeInjected`), except the mesh's root namespace and `kube-*`.
    """,
    why="""
        Istio labels every metric, trace and access log with the workload's canonical service and
        revision. Without identity labels it falls back to the workload's name and the version
        `latest`, so dashboards (Kiali, Grafana) cannot tell two releases apart and canary
        traffic cannot be told from stable traffic. DestinationRule subsets also conventionally
        select on `version`.
    """,
    fix="""
        Add the missing label to the pod template (`spec.template.metadata.labels`), not to the
        workload's own metadata: for example `app: reviews` and `version: v1`. When the other
        identity labels or the workload's name tell the value (`reviews-v2` is `app: reviews`,
        `version: v2`), that is the fix, unsafe: a Service or subset that selects on the label
        may start sending the pods traffic.
    """,
    bad="""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: reviews-v1
        spec:
          selector:
            matchLabels:
              app: reviews
          template:
            metadata:
              labels:
                app: reviews
            spec:
              containers:
              - name: reviews
                image: docker.io/istio/examples-bookinfo-reviews-v1:1.20.1
    """,
    good="""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: reviews-v1
        spec:
          selector:
            matchLabels:
              app: reviews
          template:
            metadata:
              labels:
                app: reviews
                version: v1
            spec:
              containers:
              - name: reviews
                image: docker.io/istio/examples-bookinfo-reviews-v1:1.20.1
    """,
)
def workload_identity_labels(resource: Resource, context: Context) -> Iterator[Violation]:
    template = _meshed_app_pod(resource, context)
    if template is None:
        return
    labels = template.labels
    if labels.get(APP_LABELS[0]) and labels.get(VERSION_LABELS[0]):
        return  # the usual case: the literal labels satisfy either setting of requireLiteral
    literal = bool(context.options(workload_identity_labels).get("requireLiteral", False))
    gaps: list[_Gap] = []
    suffix = VERSION_SUFFIX.search(resource.name)
    app_keys = APP_LABELS[:1] if literal else APP_LABELS
    # A name a controller generated (`reviews-v2-5d8f9c-x7k2p`) tells neither identity.
    named_by_author = not is_controller_managed(resource) and not resource.metadata.get("generateName")
    if not _identity_value(labels, app_keys):
        named = resource.name[: suffix.start()] if suffix else resource.name.rstrip("-")
        labelled = _identity_value(labels, APP_LABELS)
        inferred = bool(labelled) or (named_by_author and 0 < len(named) <= MAX_LABEL_VALUE)
        gaps.append(_Gap("app", labelled or named, f'app "{resource.name}"', inferred))
    version_keys = VERSION_LABELS[:1] if literal else VERSION_LABELS
    if not _identity_value(labels, version_keys):
        labelled = _identity_value(labels, VERSION_LABELS)
        inferred = bool(labelled) or (
            suffix is not None and named_by_author and len(suffix[1]) <= MAX_LABEL_VALUE
        )
        version = labelled or (suffix[1] if suffix else DEFAULT_VERSION)
        gaps.append(_Gap("version", version, 'version "latest"', inferred))
    if not gaps:
        return
    path = template.field("metadata.labels")
    identities = " and no ".join(g.identity for g in gaps)
    if literal:
        ignored = [k for k in (*APP_LABELS[1:], *VERSION_LABELS[1:]) if labels.get(k)]
        note = f"; {', '.join(ignored)} {'does' if len(ignored) == 1 else 'do'} not count" if ignored else ""
        message = f"in-mesh {_where(template)} has no {identities} label (requireLiteral: true{note})"
    else:
        fallbacks = ", ".join(g.fallback for g in gaps)
        message = (
            f"in-mesh {_where(template)} has no {identities} identity label; Istio reports it as {fallbacks}"
        )
    if len(gaps) > 1:
        message_id = "no-app-or-version-label"
    elif gaps[0].identity == "app":
        message_id = "no-app-label"
    else:
        message_id = "no-version-label"
    plural = "s" if len(gaps) > 1 else ""
    fix = f"add label{plural} {' and '.join(_label_text(g.identity, g.value) for g in gaps)} to {path}"
    autofix = None
    if all(g.inferred for g in gaps):
        written = as_dict(template.metadata.get("labels"))
        edits = tuple(
            Edit(template.field_keys("metadata", "labels", g.identity), written.get(g.identity), g.value)
            for g in gaps
        )
        # Unsafe: a Service or subset that selects on the label may start sending these pods traffic.
        autofix = Autofix(fix, edits, Safety.UNSAFE)
    yield Violation(
        path,
        message,
        fix,
        message_id=message_id,
        missing=(gateway_lookup(template, context.mesh.gateways_namespace_scoped),),
        autofix=autofix,
    )


class _Gap(NamedTuple):
    """A missing identity label, the value the fix gives it, what Istio reports instead, and
    whether that value is inferred (from another identity label or the workload's name) or only
    an example."""

    identity: str
    value: str
    fallback: str
    inferred: bool


# --- MW102 ---------------------------------------------------------------------------------------


@rule(
    code="MW102",
    name="probe-rewrite-disabled",
    kinds=POD_KINDS,
    default=Action.DENY,
    inputs=(*MESH_MEMBERSHIP_INPUTS, Input(PEER_AUTHENTICATION, Detail.SPEC, optional=True)),
    messages={
        "tcp-probe-always-succeeds": "a `tcpSocket` probe that is not rewritten: the sidecar accepts the "
        "connection, so the probe checks nothing (a warning)",
        "probe-fails-under-strict": "an `httpGet` or `grpc` probe that is not rewritten, under STRICT mTLS: "
        "it always fails",
        "probe-fails-once-strict": "an `httpGet` or `grpc` probe that is not rewritten, under mTLS that is "
        "not (known to be) STRICT: it fails once mTLS is STRICT (a warning)",
    },
    summary="""
        Checks the health probes of pods in the mesh when Istio's probe rewrite is off for them
        (annotation `sidecar.istio.io/rewriteAppHTTPProbers: "false"`, or `mesh.probeRewrite: false`
        in the config without the annotation set to `"true"`). An `httpGet` or `grpc` probe that is
        not already aimed at the sidecar agent (port 15020, `/app-health/...`) is denied under
        STRICT mTLS (a PeerAuthentication in the inventory, or `mesh.mtls: STRICT`) and a warning
        otherwise; a `tcpSocket` probe is a warning. Gateway pods are exempt.
    """,
    why="""
        The kubelet has no mesh certificate. Under STRICT mTLS the sidecar refuses its plain-text
        HTTP and gRPC probes, so they always fail: readiness never passes and liveness restarts the
        pod forever. Under PERMISSIVE mTLS they work until STRICT is turned on. A TCP probe is
        accepted by the sidecar itself, so it always succeeds and checks nothing.
    """,
    fix="""
        Let Istio rewrite the probes: remove the `sidecar.istio.io/rewriteAppHTTPProbers: "false"`
        annotation from the pod template, or set it to `"true"` when the mesh default is off.
    """,
    bad="""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: ratings
        spec:
          selector:
            matchLabels:
              app: ratings
          template:
            metadata:
              labels:
                app: ratings
                version: v1
              annotations:
                sidecar.istio.io/rewriteAppHTTPProbers: "false"
            spec:
              containers:
              - name: ratings
                image: docker.io/istio/examples-bookinfo-ratings-v1:1.20.1
                readinessProbe:
                  httpGet:
                    path: /health
                    port: 9080
    """,
    good="""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: ratings
        spec:
          selector:
            matchLabels:
              app: ratings
          template:
            metadata:
              labels:
                app: ratings
                version: v1
            spec:
              containers:
              - name: ratings
                image: docker.io/istio/examples-bookinfo-ratings-v1:1.20.1
                readinessProbe:
                  httpGet:
                    path: /health
                    port: 9080
    """,
)
def probe_rewrite_disabled(resource: Resource, context: Context) -> Iterator[Violation]:
    template = _meshed_app_pod(resource, context)
    if template is None or probe_rewrite_enabled(template, context.mesh):
        return
    off = _why_rewrite_is_off(template)
    for probe in _probes(template):
        yield from _check_probe(template, context, probe, off)


class _Probe(NamedTuple):
    container: Mapping[str, Any]
    name: str
    body: Mapping[str, Any]
    path: str


class _RewriteOff(NamedTuple):
    reason: str
    fix: str


def _why_rewrite_is_off(template: PodTemplate) -> _RewriteOff:
    annotation = template.annotations.get(REWRITE_PROBES_ANNOTATION)
    annotations_path = template.field("metadata.annotations")
    if annotation is not None and parse_bool(annotation) is False:
        reason = f'{REWRITE_PROBES_ANNOTATION}: "{annotation}"'
        return _RewriteOff(reason, f"remove the annotation {reason} from {annotations_path}")
    return _RewriteOff(
        "mesh.probeRewrite: false in the config",
        f'add the annotation {REWRITE_PROBES_ANNOTATION}: "true" to {annotations_path}',
    )


def _probes(template: PodTemplate) -> Iterator[_Probe]:
    """Every probe of the pod's own containers (native sidecars included), not of the proxy."""
    for field in ("containers", "initContainers"):
        for index, container in enumerate(as_list(template.spec.get(field))):
            container = as_dict(container)
            if container.get("name") == PROXY_CONTAINER:
                continue
            for name in PROBES:
                body = container.get(name)
                if isinstance(body, dict):
                    yield _Probe(container, name, body, template.field(f"spec.{field}[{index}].{name}"))


def _check_probe(
    template: PodTemplate, context: Context, probe: _Probe, off: _RewriteOff
) -> Iterator[Violation]:
    handler = next((h for h in ("httpGet", "grpc", "tcpSocket") if isinstance(probe.body.get(h), dict)), None)
    if handler is None:
        return
    action = as_dict(probe.body[handler])
    port = action.get("port")
    if handler == "httpGet" and _is_rewritten(port, scalar_text(action.get("path") or "")):
        return
    container = scalar_text(probe.container.get("name"))
    subject = f'{probe.name} of container "{container}" ({_describe(handler, action)})'
    if handler == "tcpSocket":
        yield Violation(
            probe.path,
            f"{subject} is not rewritten ({off.reason}); the sidecar accepts every TCP connection itself, "
            "so the probe always succeeds and checks nothing",
            f"{off.fix}, or probe with httpGet or exec instead of tcpSocket",
            message_id="tcp-probe-always-succeeds",
            weak=True,
        )
        return
    mtls = mtls_for(template, context.inventory, context.mesh, container_port([probe.container], port))
    if mtls.mode == "STRICT":
        effect = "the sidecar refuses the kubelet's plain-text probe, so it always fails"
        message_id = "probe-fails-under-strict"
    else:
        effect = "the probe works only until mTLS is switched to STRICT, then it always fails"
        message_id = "probe-fails-once-strict"
    yield Violation(
        probe.path,
        f"{subject} is not rewritten ({off.reason}) and mTLS is {mtls.mode} ({mtls.source}); {effect}",
        f"{off.fix}, so that Istio rewrites the probe to the sidecar agent on port {AGENT_PORT}",
        message_id=message_id,
        weak=mtls.mode != "STRICT",
    )


def _is_rewritten(port: object, path: str) -> bool:
    return scalar_text(port) == str(AGENT_PORT) and path.startswith(AGENT_PROBE_PREFIX)


def _describe(handler: str, action: Mapping[str, Any]) -> str:
    port = scalar_text(action.get("port"))
    if handler == "httpGet":
        return f"httpGet port {port} path {scalar_text(action.get('path') or '/')}"
    return f"{handler} port {port}"
