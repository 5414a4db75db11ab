"""Istio annotations and labels on pods and other objects (MW103, MW104)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import NamedTuple

from webhook.findings import Action, Autofix, Edit, FieldPath, Safety, Violation
from webhook.istio.annotations import ANNOTATIONS, LABELS
from webhook.istio.injector import LABEL_VALIDATORS, Invalid, annotation_validator, loose_bool, shown
from webhook.istio.mesh import INJECT_KEY, NAMESPACE_INJECTION_LABEL, STATUS_ANNOTATION
from webhook.kinds import (
    DESTINATION_RULE,
    GATEWAY,
    INGRESS,
    NAMESPACE,
    PEER_AUTHENTICATION,
    POD_KINDS,
    SERVICE,
    SERVICE_ENTRY,
    VIRTUAL_SERVICE,
)
from webhook.kube import PodTemplate
from webhook.model import Body, Resource, as_dict
from webhook.rules.registry import Context, rule

READ_KINDS = POD_KINDS | {
    NAMESPACE,
    SERVICE,
    VIRTUAL_SERVICE,
    GATEWAY,
    DESTINATION_RULE,
    INGRESS,
    SERVICE_ENTRY,
    PEER_AUTHENTICATION,
}
# Set by Istio itself, never by users: Istio's analyzer ignores them, and so do we.
IGNORED_KEYS = frozenset({STATUS_ANNOTATION, "gateway.istio.io/controller-version", "istio.io/rev"})
POD_ANNOTATION_PREFIXES = (
    "sidecar.istio.io/",
    "traffic.sidecar.istio.io/",
    "readiness.status.sidecar.istio.io/",
    "status.sidecar.istio.io/",
)
PROXY_CONFIG_ANNOTATION = "proxy.istio.io/config"
SIMILARITY_CUTOFF = 0.6
INJECT_ANNOTATION_DEPRECATED = (1, 15)  # the Istio version that deprecated the inject annotation
LABEL_VALUE = re.compile(r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")


# --- MW103 ---------------------------------------------------------------------------------------


@rule(
    code="MW103",
    name="sidecar-annotation-invalid",
    kinds=POD_KINDS,
    default=Action.DENY,
    messages={
        "invalid-annotation": "a sidecar annotation whose value the injector refuses",
        "invalid-label": "a `sidecar.istio.io/inject` label that is neither `true` nor `false`",
    },
    fixes={"invalid-annotation": Safety.SAFE, "invalid-label": Safety.SAFE},
    summary="""
        Checks the values of the pod annotations that Istio's sidecar injector validates
        (`traffic.sidecar.istio.io/*` port and CIDR lists, `sidecar.istio.io/interceptionMode`,
        `sidecar.istio.io/rewriteAppHTTPProbers`, `status.sidecar.istio.io/port`,
        `readiness.status.sidecar.istio.io/*`, `sidecar.istio.io/proxyCPU` and friends) and the
        label `sidecar.istio.io/inject`, which must be exactly `true` or `false`.
    """,
    why="""
        The injector runs as a mutating webhook with `failurePolicy: Fail`: when an annotation
        does not parse, it returns an error and the API server refuses the pod. For a Deployment
        that error only shows as a `FailedCreate` event on its ReplicaSet, long after
        `kubectl apply` said "configured". Port lists allow no ranges and CIDR lists no spaces
        (`10.0.0.0/8, 172.16.0.0/12` is refused). An inject label other than exactly `true` or
        `false` neither opts the pod in nor out.
    """,
    fix="""
        Write the value the way the injector parses it: `8080,8443` (no ranges),
        `10.0.0.0/8,172.16.0.0/12` (no spaces), `REDIRECT`, `"true"`, `100m`, `128Mi`.
    """,
    bad="""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: payments
        spec:
          selector:
            matchLabels:
              app: payments
          template:
            metadata:
              labels:
                app: payments
                version: v1
              annotations:
                traffic.sidecar.istio.io/excludeOutboundIPRanges: "10.0.0.0/8, 172.16.0.0/12"
            spec:
              containers:
              - name: payments
                image: example.com/payments:1.4.2
    """,
    good="""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: payments
        spec:
          selector:
            matchLabels:
              app: payments
          template:
            metadata:
              labels:
                app: payments
                version: v1
              annotations:
                traffic.sidecar.istio.io/excludeOutboundIPRanges: "10.0.0.0/8,172.16.0.0/12"
            spec:
              containers:
              - name: payments
                image: example.com/payments:1.4.2
    """,
)
def sidecar_annotation_invalid(resource: Resource, context: Context) -> Iterator[Violation]:
    template = context.facts(resource).pod
    if template is None:
        return
    for key, value in template.annotations.items():
        validator = annotation_validator(key)
        invalid = validator(value) if validator else None
        if invalid is not None:
            yield _invalid_value(template, "annotation", key, value, invalid)
    for key, value in template.labels.items():
        label_validator = LABEL_VALIDATORS.get(key)
        invalid = label_validator(value) if label_validator else None
        if invalid is not None:
            yield _invalid_value(template, "label", key, value, invalid)


def _invalid_value(template: PodTemplate, what: str, key: str, value: str, invalid: Invalid) -> Violation:
    path = template.field(f"metadata.{what}s.{key}")
    effect = (
        "the label neither opts the pod in nor out"
        if what == "label"
        else "the sidecar injector refuses the pod"
    )
    parent = _parent(path, key)
    autofix = None
    if invalid.corrected is not None:
        fix = f'set {what} {key}: "{invalid.corrected}" in {parent}'
        # The pod is refused as the annotation stands, so its corrected value changes nothing that
        # runs today. A label meaning "true" may not opt the pod in today (the injector's webhook
        # compares the exact text): correcting it could; one meaning "false" opts it out either way.
        if invalid.exact and (what == "annotation" or invalid.corrected == "false"):
            metadata = _Metadata.of(template)
            edit = Edit(metadata.key(f"{what}s", key), metadata.written(f"{what}s", key), invalid.corrected)
            autofix = Autofix(fix, (edit,), Safety.SAFE)
    else:
        fix = f"set {what} {key} in {parent} to {invalid.expected}"
    return Violation(
        path,
        f"{what} {key}: {shown(value)} is invalid: {invalid.problem}; {effect}",
        fix,
        message_id="invalid-label" if what == "label" else "invalid-annotation",
        autofix=autofix,
    )


def _parent(path: str, key: str) -> str:
    return path[: -len(key) - 1]


# --- MW104 ---------------------------------------------------------------------------------------


@rule(
    code="MW104",
    name="istio-metadata-misplaced",
    kinds=READ_KINDS,
    default=Action.WARN,
    messages={
        "unknown-annotation": "an annotation in an `istio.io` domain that Istio does not define",
        "misspelt-annotation": "an annotation Istio does not define, close to one it does",
        "label-as-annotation": "an Istio label written as an annotation",
        "pod-annotation-on-workload": "a pod annotation on a workload's own metadata instead of its pod "
        "template",
        "pod-annotation-on-namespace": "a pod annotation on a Namespace",
        "inject-annotation-cannot-opt-in": "a `sidecar.istio.io/inject` annotation that tries to opt a pod "
        "in",
        "inject-annotation-deprecated": 'a `sidecar.istio.io/inject: "false"` annotation, deprecated since '
        "Istio 1.15",
        "inject-annotation-overridden": "a `sidecar.istio.io/inject` annotation beside the label, which "
        "decides (before Istio 1.15)",
    },
    fixes={
        "misspelt-annotation": Safety.SAFE,
        "label-as-annotation": Safety.UNSAFE,
        "pod-annotation-on-workload": Safety.SAFE,
        "inject-annotation-cannot-opt-in": Safety.UNSAFE,
        "inject-annotation-deprecated": Safety.SAFE,
        "inject-annotation-overridden": Safety.SAFE,
    },
    summary="""
        Checks where Istio keys sit: pod annotations (`sidecar.istio.io/*`,
        `traffic.sidecar.istio.io/*`, `proxy.istio.io/config`, `readiness.status.sidecar.istio.io/*`,
        `status.sidecar.istio.io/*`) on a workload's own metadata or on a Namespace instead of the pod
        template; `sidecar.istio.io/inject` written as an annotation instead of a label; and
        annotation keys in an `istio.io` domain that Istio does not define (typos).
    """,
    why="""
        Istio reads pod annotations from the pod only: on a Deployment's own metadata they do
        nothing, and the sidecar runs with defaults the author thinks they changed. The inject
        annotation `"true"` cannot opt a pod in, because the injector's webhook selects pods by
        label; as `"false"` it is deprecated since Istio 1.15 (not reported when the policy's
        `mesh.istioVersion` is older). A misspelt key is silently ignored.
    """,
    fix="""
        Move pod annotations to `spec.template.metadata.annotations`, write
        `sidecar.istio.io/inject` as a label in `spec.template.metadata.labels`, and correct
        misspelt keys to the name Istio defines.
    """,
    bad="""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: fortio
          annotations:
            sidecar.istio.io/proxyCPU: 500m
        spec:
          selector:
            matchLabels:
              app: fortio
          template:
            metadata:
              labels:
                app: fortio
                version: v1
            spec:
              containers:
              - name: fortio
                image: fortio/fortio:1.69.5
    """,
    good="""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: fortio
        spec:
          selector:
            matchLabels:
              app: fortio
          template:
            metadata:
              labels:
                app: fortio
                version: v1
              annotations:
                sidecar.istio.io/proxyCPU: 500m
            spec:
              containers:
              - name: fortio
                image: fortio/fortio:1.69.5
    """,
)
def istio_metadata_misplaced(resource: Resource, context: Context) -> Iterator[Violation]:
    facts = context.facts(resource)
    template = facts.pod
    workload = template if template is not None and template.is_template else None
    for key, value in _istio_keys(facts.annotations):
        path = f"metadata.annotations.{key}"
        own = _Metadata(resource.metadata, ("metadata",))
        if key not in ANNOTATIONS:
            yield _unknown(key, path, workload, own)
        elif resource.group_kind == NAMESPACE and _is_pod_annotation(key):
            yield _on_namespace(resource.name, key, value, path)
        elif workload is not None and _is_pod_annotation(key):
            yield _on_workload(resource.kind, workload, key, value, path, own)
        elif template is not None and key == INJECT_KEY:
            yield from _inject_annotation(template, value, path, context)
    if workload is not None:
        pods = _Metadata.of(workload)
        for key, value in _istio_keys(workload.annotations):
            path = workload.field(f"metadata.annotations.{key}")
            if key not in ANNOTATIONS:
                yield _unknown(key, path, None, pods)
            elif key == INJECT_KEY:
                yield from _inject_annotation(workload, value, path, context)


class _Metadata(NamedTuple):
    """The metadata an annotation was found in, and where it is in the object."""

    body: Body
    at: FieldPath

    @classmethod
    def of(cls, template: PodTemplate) -> _Metadata:
        return cls(template.metadata, template.field_keys("metadata"))

    def written(self, field: str, key: str) -> object:
        return as_dict(self.body.get(field)).get(key)

    def key(self, field: str, key: str) -> FieldPath:
        """Where `key` of its labels or annotations (`field`) is in the object."""
        return (*self.at, field, key)


def _istio_keys(annotations: Mapping[str, str]) -> list[tuple[str, str]]:
    """Annotations in an istio.io domain, except the ones Istio sets itself. A list: most objects
    have none, and building an empty list costs less than starting a generator; without any
    annotation, not even the comprehension (a call in Python 3.11) runs."""
    if not annotations:
        return []
    return [(key, value) for key, value in annotations.items() if _is_istio_key(key)]


@lru_cache(maxsize=4096)  # the same few keys come on every object
def _is_istio_key(key: str) -> bool:
    domain, slash, _ = key.partition("/")
    return bool(slash) and key not in IGNORED_KEYS and (domain == "istio.io" or domain.endswith(".istio.io"))


def _is_pod_annotation(key: str) -> bool:
    return key == PROXY_CONFIG_ANNOTATION or key.startswith(POD_ANNOTATION_PREFIXES)


def _wanted_label(value: str) -> str | None:
    return value if value in ("true", "false") else loose_bool(value)


def _unknown(key: str, path: str, workload: PodTemplate | None, metadata: _Metadata) -> Violation:
    message = f"annotation {key} is not one Istio defines, so Istio ignores it"
    parent = _parent(path, key)
    written = metadata.written("annotations", key)
    if key in LABELS:
        labels = parent.removesuffix("annotations") + "labels"
        fix = f"move {key} from {parent} to {labels}"
        return Violation(
            path,
            f"{message}; {key} is a label",
            fix,
            message_id="label-as-annotation",
            autofix=_as_label(fix, key, written, metadata),
        )
    nearest = _nearest_annotation(key)
    if nearest is None:
        return Violation(
            path,
            message,
            f"remove annotation {key} from {parent}, or correct it to a name Istio defines",
            message_id="unknown-annotation",
        )
    fix = f"rename annotation {key} to {nearest}"
    target = metadata
    if workload is not None and _is_pod_annotation(nearest):
        fix += f" and move it to {workload.field('metadata.annotations')}"
        target = _Metadata.of(workload)
    # Only a key that differs in case alone is certainly the one meant.
    autofix = None
    if nearest.lower() == key.lower() and target.written("annotations", nearest) is None:
        edits = (
            Edit(metadata.key("annotations", key), written, None),
            Edit(target.key("annotations", nearest), None, written),
        )
        autofix = Autofix(fix, edits, Safety.SAFE)
    return Violation(
        path, f"{message}; did you mean {nearest}?", fix, message_id="misspelt-annotation", autofix=autofix
    )


def _as_label(fix: str, key: str, written: object, metadata: _Metadata) -> Autofix | None:
    """The annotation moved to the labels, when its value is a label value and no other value of
    the label is there. Unsafe: the label takes effect (`istio.io/dataplane-mode` enrols the
    namespace in ambient)."""
    label = metadata.written("labels", key)
    if not isinstance(written, str) or not LABEL_VALUE.fullmatch(written) or label not in (None, written):
        return None
    edits = [Edit(metadata.key("annotations", key), written, None)]
    if label is None:
        edits.append(Edit(metadata.key("labels", key), None, written))
    return Autofix(fix, tuple(edits), Safety.UNSAFE)


def _nearest_annotation(key: str) -> str | None:
    """The most similar known annotation, if its name (after the domain) is similar too."""
    import difflib  # 2 ms to import, for a rare finding

    name = key.partition("/")[2]
    scored = [
        (difflib.SequenceMatcher(None, key, known).ratio(), known)
        for known in ANNOTATIONS
        if difflib.SequenceMatcher(None, name, known.partition("/")[2]).ratio() >= SIMILARITY_CUTOFF
    ]
    best = max(scored, default=None)
    return best[1] if best is not None and best[0] >= SIMILARITY_CUTOFF else None


def _inject_annotation(template: PodTemplate, value: str, path: str, context: Context) -> Iterator[Violation]:
    wanted = _wanted_label(value)
    written = f"annotation {INJECT_KEY}: {shown(value)}"
    labels_path = template.field("metadata.labels")
    label_value = template.labels.get(INJECT_KEY)
    if wanted != "false":
        message = (
            f"{written} cannot opt the pod in: the injector's webhook selects pods by the label {INJECT_KEY}"
        )
        message_id = "inject-annotation-cannot-opt-in"
    elif context.mesh.istio_version >= INJECT_ANNOTATION_DEPRECATED:
        message = f"{written} is deprecated since Istio 1.15; the label {INJECT_KEY} replaces it"
        message_id = "inject-annotation-deprecated"
    elif label_value is None:
        return  # before Istio 1.15 the annotation was the documented way to opt out
    else:
        message = f"{written} has no effect: the label decides when both are set"
        message_id = "inject-annotation-overridden"
    metadata = _Metadata.of(template)
    remove = Edit(metadata.key("annotations", INJECT_KEY), metadata.written("annotations", INJECT_KEY), None)
    edits: tuple[Edit, ...] = ()
    if label_value is not None and label_value == wanted:
        fix = f'remove the annotation: {labels_path} already has the label {INJECT_KEY}: "{wanted}"'
        edits = (remove,)
    elif label_value is not None:
        label = f'{INJECT_KEY}: "{label_value}"'
        fix = f"remove the annotation: Istio reads only the label {label} in {labels_path}"
        edits = (remove,)
    else:
        label = f'{INJECT_KEY}: "{wanted}"' if wanted else f'{INJECT_KEY}: "true" or "false"'
        fix = f"replace the annotation with the label {label} in {labels_path}"
        if wanted:
            edits = (remove, Edit(metadata.key("labels", INJECT_KEY), None, wanted))
    # Replacing an annotation that opts out by the label changes nothing (the injector honours both);
    # one that means "true" opts nothing in today, and the label would.
    safety = Safety.UNSAFE if message_id == "inject-annotation-cannot-opt-in" else Safety.SAFE
    autofix = Autofix(fix, edits, safety) if edits else None
    yield Violation(path, message, fix, message_id=message_id, autofix=autofix)


def _on_workload(
    kind: str, workload: PodTemplate, key: str, value: str, path: str, own: _Metadata
) -> Violation:
    written = f"{key}: {shown(value)}"
    message = (
        f"pod annotation {written} on the {kind}'s own metadata is ignored: Istio reads it from the pods"
    )
    edits: tuple[Edit, ...] = ()
    if key == INJECT_KEY:
        # No fix: as a label it would switch the sidecar on or off for the pods, which it does not today.
        wanted = _wanted_label(value) or "true"
        target = workload.field("metadata.labels")
        if workload.labels.get(INJECT_KEY) == wanted:
            fix = f'remove it: {target} already has the label {INJECT_KEY}: "{wanted}"'
        else:
            fix = f'move it to {target} as the label {INJECT_KEY}: "{wanted}"'
    else:
        target = workload.field("metadata.annotations")
        remove = Edit(own.key("annotations", key), own.written("annotations", key), None)
        there = workload.annotations.get(key)
        if there == value:
            fix = f"remove it: {target} already has {written}"
            edits = (remove,)
        else:
            fix = f"move annotation {written} to {target}"
            if there is None:  # a different value there is the one in effect: which is meant?
                edits = (
                    remove,
                    Edit(_Metadata.of(workload).key("annotations", key), None, remove.old),
                )
    autofix = Autofix(fix, edits, Safety.SAFE) if edits else None
    return Violation(path, message, fix, message_id="pod-annotation-on-workload", autofix=autofix)


def _on_namespace(namespace: str, key: str, value: str, path: str) -> Violation:
    written = f"{key}: {shown(value)}"
    message = f"pod annotation {written} on Namespace {namespace} is ignored: Istio reads it from pods only"
    if key == INJECT_KEY:
        setting = "disabled" if _wanted_label(value) == "false" else "enabled"
        fix = f"remove the annotation and label Namespace {namespace} {NAMESPACE_INJECTION_LABEL}={setting}"
    else:
        fix = (
            f"move annotation {written} to the pod templates (spec.template.metadata.annotations) "
            f"of the workloads in namespace {namespace}"
        )
    return Violation(path, message, fix, message_id="pod-annotation-on-namespace")
