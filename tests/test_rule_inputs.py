"""Every rule reads from the inventory only what its declaration says: the kinds, at the detail.

What Istio's CheckMetadataInputs does for its analyzers. Each rule runs over the bad and good
examples of every rule's docs and the samples the tests keep, against a RecordingInventory:
- each lookup records the kind it asks for and the detail its answer rests on (a lookup by host
  or by selector reads the spec; one by name or by labels, the metadata);
- each object of a kind the rule declares is wrapped in tripwires: reading a field that the
  declared detail does not keep (a pod's containers when only its metadata is declared) is
  recorded. The values stay whole, so the rule behaves as it always does.
The live inventory keeps exactly the declared kinds at the declared detail, so a rule that passes
gives the same answer in the server as in the CLI.
"""

from __future__ import annotations

import inspect
from collections.abc import Hashable, Iterator, Mapping
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from webhook.engine import RuleContext
from webhook.findings import Action, Violation
from webhook.inventory import Inventory
from webhook.inventory.detail import KEPT, Detail, Fields
from webhook.inventory.store import INDEXES
from webhook.kinds import (
    DESTINATION_RULE,
    GATEWAY,
    NAMESPACE,
    PEER_AUTHENTICATION,
    POD,
    POD_KINDS,
    SERVICE,
    SERVICE_ENTRY,
    VIRTUAL_SERVICE,
    WORKLOADS,
)
from webhook.kube import TEMPLATE_PATHS, PodTemplate
from webhook.loader import load_text
from webhook.model import GroupKind, Resource
from webhook.policy import Policy, parse_policy
from webhook.rules import CATALOGUE, Input, Rule
from webhook.rules.registry import Context, rule

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIRECTORIES = sorted(
    {path.parent for folder in ("tests/samples", "examples") for path in (ROOT / folder).rglob("*.yaml")}
)
POLICIES = {
    "examples": "ingressNginx: {meshed: true}\nmesh: {mtls: STRICT}\n",
    "scoped": "ingressNginx: {meshed: true}\nmesh: {probeRewrite: false, mtls: PERMISSIVE}\n"
    "gateways: {namespaceScoped: true}\n",
}


class Recorder:
    def __init__(self) -> None:
        self.armed = False
        self.reads: list[tuple[GroupKind, Detail | str]] = []

    def lookup(self, kind: GroupKind, detail: Detail) -> None:
        if self.armed:
            self.reads.append((kind, detail))

    def field(self, kind: GroupKind, path: str) -> None:
        if self.armed:
            self.reads.append((kind, path))


class Tripwire(dict[str, Any]):
    """A mapping that records reads of the keys its allowed fields leave out."""

    def __init__(
        self, value: Mapping[str, Any], fields: Fields, kind: GroupKind, path: str, recorder: Recorder
    ):
        allowed = fields if isinstance(fields, dict) else {}
        super().__init__(
            (key, wrap(item, allowed.get(key, {}), kind, f"{path}.{key}", recorder))
            for key, item in value.items()
        )
        self._allowed = allowed
        self._kind = kind
        self._path = path
        self._recorder = recorder

    def _check(self, key: object) -> None:
        if key not in self._allowed:
            self._recorder.field(self._kind, f"{self._path}.{key}".lstrip("."))

    def get(self, key: str, default: Any = None) -> Any:
        self._check(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self._check(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self._check(key)
        return super().__contains__(key)


def wrap(value: Any, fields: Fields, kind: GroupKind, path: str, recorder: Recorder) -> Any:
    """`value` whole, with tripwires wherever `fields` (what a detail keeps) stops."""
    if fields is None:
        return value
    if isinstance(value, dict):
        return Tripwire(value, fields, kind, path, recorder)
    if isinstance(value, list):
        item_fields = fields[0] if isinstance(fields, list) else {}
        return [wrap(item, item_fields, kind, f"{path}[]", recorder) for item in value]
    return value


def fields_for(kind: GroupKind, detail: Detail) -> Fields:
    """What a detail keeps of the kind. A workload's pod template stands for pods (the Pod input):
    its metadata and the part of its spec that the detail keeps of a pod's."""
    kept = KEPT[detail]
    if kind not in WORKLOADS or not isinstance(kept, dict):
        return kept
    template: dict[str, Any] = {"metadata": None}
    if "spec" in kept:
        template["spec"] = kept["spec"]
    node: Fields = template
    for key in reversed(TEMPLATE_PATHS[kind]):
        node = {key: node}
    return {**kept, **node} if isinstance(node, dict) else kept


class RecordingInventory(Inventory):
    """The real store, recording the kind and detail of every lookup."""

    def __init__(self, resources: list[Resource], recorder: Recorder):
        super().__init__(resources)
        self.recorder = recorder

    def _read(self, kind: GroupKind, detail: Detail = Detail.METADATA) -> None:
        self.recorder.lookup(kind, detail)

    def get(self, kind: GroupKind, namespace: str, name: str) -> Resource | None:
        self._read(kind)
        return super().get(kind, namespace, name)

    def named(self, kind: GroupKind, name: str) -> list[Resource]:
        self._read(kind)
        return super().named(kind, name)

    def of_kind(self, kind: GroupKind) -> list[Resource]:
        self._read(kind)
        return super().of_kind(kind)

    def is_known_namespace(self, namespace: str) -> bool:
        self._read(NAMESPACE)
        return super().is_known_namespace(namespace)

    def namespace_labels(self, namespace: str) -> dict[str, str] | None:
        self._read(NAMESPACE)
        return super().namespace_labels(namespace)

    def services_for_host(self, host_fqdn: str) -> list[Resource]:
        self._read(SERVICE)  # by name and namespace
        return super().services_for_host(host_fqdn)

    def service_entries_for_host(self, host_fqdn: str) -> list[Resource]:
        self._read(SERVICE_ENTRY, Detail.SPEC)
        return super().service_entries_for_host(host_fqdn)

    def destination_rules_for_host(self, host_fqdn: str) -> list[Resource]:
        self._read(DESTINATION_RULE, Detail.SPEC)
        return super().destination_rules_for_host(host_fqdn)

    def virtual_services_for_host(self, host_fqdn: str) -> list[Resource]:
        self._read(VIRTUAL_SERVICE, Detail.SPEC)
        return super().virtual_services_for_host(host_fqdn)

    def virtual_services_routing_to(self, host_fqdn: str, subset: str) -> list[Resource]:
        self._read(VIRTUAL_SERVICE, Detail.SPEC)
        return super().virtual_services_routing_to(host_fqdn, subset)

    def gateways_with_server(self, number: int, host: str, bind: str = "") -> list[Resource]:
        self._read(GATEWAY, Detail.SPEC)
        return super().gateways_with_server(number, host, bind)

    def peer_authentications(self, namespace: str) -> list[Resource]:
        self._read(PEER_AUTHENTICATION)
        return super().peer_authentications(namespace)

    def pods_matching(self, selector: Mapping[str, str], namespace: str | None = None) -> list[PodTemplate]:
        self._read(POD)  # by labels
        return super().pods_matching(selector, namespace)

    def services_selecting(self, pod: PodTemplate) -> list[Resource]:
        self._read(SERVICE, Detail.SPEC)
        return super().services_selecting(pod)

    def gateways_selecting(self, pod: PodTemplate, *, namespace_scoped: bool = False) -> list[Resource]:
        self._read(GATEWAY, Detail.SPEC)
        return super().gateways_selecting(pod, namespace_scoped=namespace_scoped)


def undeclared_reads(checked: Rule, manifests: str, policy: Policy) -> list[str]:
    """What the rule read beyond its declared inputs, checking every object of its kinds."""
    resources, errors = load_text(manifests, "inputs.yaml")
    assert not errors, errors
    declared = {i.kind: i.detail for i in checked.inputs}
    recorder = Recorder()
    world = []
    for resource in resources:
        kind = resource.group_kind
        detail = declared.get(POD if kind in POD_KINDS else kind)
        if detail is None:
            world.append(resource)
            continue
        body = wrap(resource.body, fields_for(kind, detail), kind, "", recorder)
        world.append(Resource(body, resource.namespace or "default", resource.origin))
    inventory = RecordingInventory(world, recorder)
    context = RuleContext(inventory, policy)
    recorder.armed = True
    for resource in resources:
        if resource.group_kind in checked.kinds:
            list(checked.check(resource, context))
    problems = []
    for kind, what in recorder.reads:
        allowed = declared.get(kind)
        if isinstance(what, Detail) and allowed is not None and what <= allowed:
            continue
        problems.append(f"{kind}: {what}" if isinstance(what, str) else f"{kind} at detail {what}")
    return sorted(set(problems))


def examples() -> Iterator[tuple[str, str]]:
    for example in CATALOGUE:
        yield f"{example.code}-bad", example.bad
        yield f"{example.code}-good", example.good
    for directory in SAMPLE_DIRECTORIES:
        text = "---\n".join(path.read_text(encoding="utf-8") for path in sorted(directory.glob("*.yaml")))
        yield str(directory.relative_to(ROOT)), text


EXAMPLES = dict(examples())


@pytest.mark.parametrize("checked", list(CATALOGUE), ids=lambda r: r.code)
def test_every_rule_reads_only_what_it_declares(checked: Rule) -> None:
    found: dict[str, list[str]] = {}
    for policy_name, policy_text in POLICIES.items():
        policy = parse_policy(policy_text, CATALOGUE)
        for name, manifests in EXAMPLES.items():
            reads = undeclared_reads(checked, manifests, policy)
            if reads:
                found[f"{name} ({policy_name})"] = reads
    assert not found, f"{checked.code} reads what it does not declare: {found}"


def test_the_samples_exercise_the_lookups() -> None:
    """Guards the test above: the samples include the reads that once went undeclared."""
    assert any(path.name == "inputs" for path in SAMPLE_DIRECTORIES)
    assert "targetPort: https" in EXAMPLES["tests/samples/inputs"]
    assert "kind: IngressClass" in EXAMPLES["tests/samples/inputs"]


# --- the recorder itself ---------------------------------------------------------------------------

DOC = dict(summary="s", why="w", fix="f", bad="b", good="g", messages={"m": "m"})
GATEWAY_WITH_POD = """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: shop}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: gw, labels: {istio: ingressgateway}}
spec:
  containers: [{name: istio-proxy, image: auto, ports: [{name: http, containerPort: 8080}]}]
"""


@rule(
    code="MW990",
    name="reads-container-ports",
    kinds={GATEWAY},
    default=Action.WARN,
    inputs=(Input(POD, Detail.METADATA),),
    **DOC,
)
def reads_container_ports(gateway: Resource, context: Context) -> Iterator[Violation]:
    for pod in context.inventory.pods_matching({"istio": "ingressgateway"}):
        pod.spec.get("containers")
    return iter(())


@rule(code="MW991", name="reads-services", kinds={GATEWAY}, default=Action.WARN, **DOC)
def reads_services(gateway: Resource, context: Context) -> Iterator[Violation]:
    context.inventory.services_for_host("web.default.svc.cluster.local")
    return iter(())


def test_the_recorder_catches_a_detail_and_a_kind_not_declared() -> None:
    manifests = dedent(GATEWAY_WITH_POD)
    assert undeclared_reads(reads_container_ports, manifests, Policy()) == ["Pod: spec.containers"]
    assert undeclared_reads(reads_services, manifests, Policy()) == ["Service at detail metadata"]


def test_the_recording_inventory_records_every_lookup() -> None:
    lookups = {
        name
        for name, member in inspect.getmembers(Inventory, inspect.isfunction)
        if not name.startswith("_") and name not in ("add", "remove")
    }
    recorded = {name for name in lookups if name in vars(RecordingInventory)}
    assert lookups == recorded, "a new Inventory lookup needs its kind and detail recorded here"


def test_the_store_indexes_only_kinds_that_rules_read() -> None:
    indexed: set[Hashable] = set(INDEXES)
    assert indexed <= CATALOGUE.inputs.keys()
