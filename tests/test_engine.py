"""The engine's contract: dispatch, actions, suppression, isolation of broken rules, facts of the
object shared by the rules of one review."""

from collections import Counter
from collections.abc import Iterator, Mapping
from textwrap import dedent

import pytest

from webhook.engine import Engine, RunSuppression
from webhook.findings import Action, Autofix, Edit, Safety, Violation
from webhook.inventory import Inventory, World
from webhook.inventory.detail import Detail
from webhook.istio.hosts import covering_hosts
from webhook.kinds import POD, POD_KINDS, SERVICE
from webhook.kube import PodTemplate
from webhook.loader import load_text
from webhook.model import Resource
from webhook.policy import Policy, Profile, parse_policy
from webhook.rules import Catalogue
from webhook.rules.registry import Context, Input, rule

DOC = dict(summary="s", why="w", fix="f", bad="b", good="g")


@rule(
    code="MW901",
    name="pod-has-label-x",
    kinds=POD_KINDS,
    default=Action.DENY,
    messages={"no-x": "the pod has no label x"},
    **DOC,
)
def needs_label(resource: Resource, context: Context) -> Iterator[Violation]:
    yield Violation(
        "metadata.labels",
        f"{resource.name} lacks x",
        "add label x",
        message_id="no-x",
        weak="weak" in resource.name,
    )


@rule(code="MW902", name="explodes", kinds={POD}, default=Action.DENY, messages={"never": "never"}, **DOC)
def explodes(resource: Resource, context: Context) -> Iterator[Violation]:
    raise KeyError("boom")


@rule(
    code="MW903",
    name="needs-world",
    kinds={POD},
    default=Action.WARN,
    inputs=(Input(SERVICE, Detail.SPEC),),
    messages={"alone": "nothing around"},
    **DOC,
)
def needs_world(resource: Resource, context: Context) -> Iterator[Violation]:
    yield Violation("spec", "nothing around", "add things", message_id="alone")


@rule(code="MW904", name="says-too-much", kinds={POD}, default=Action.DENY, messages={"said": "said"}, **DOC)
def says_too_much(resource: Resource, context: Context) -> Iterator[Violation]:
    yield Violation("spec", "said", "unsay it", message_id="said")
    yield Violation("spec", "not declared", "declare it", message_id="unsaid")


@rule(
    code="MW905",
    name="fixes-name",
    kinds={POD},
    default=Action.WARN,
    messages={"bad-name": "the name is bad", "worse-name": "the name is worse"},
    fixes={"bad-name": Safety.SAFE},
    **DOC,
)
def fixes_name(resource: Resource, context: Context) -> Iterator[Violation]:
    safety = Safety.UNSAFE if "unsafe" in resource.name else Safety.SAFE
    message_id = "worse-name" if "worse" in resource.name else "bad-name"
    edit = Edit(("metadata", "name"), resource.name, "good")
    yield Violation(
        "metadata.name", "bad", "rename", message_id=message_id, autofix=Autofix("rename", (edit,), safety)
    )


CATALOGUE = Catalogue([needs_label, explodes, needs_world])


def check(
    manifest: str, policy: Policy | None = None, *, complete: bool = True, suppress: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    resources, errors = load_text(dedent(manifest), "t.yaml")
    assert not errors
    suppressions = [RunSuppression.parse(s, CATALOGUE) for s in suppress]
    engine = Engine(policy or Policy(), CATALOGUE, suppressions)
    world = World(Inventory(resources), None if complete else "partial")
    return [
        (f.code, "suppressed" if f.suppressed else str(f.action))
        for r in resources
        for f in engine.check(r, world)
    ]


POD = """
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: {namespace}
  annotations: {annotations}
  ownerReferences: {owners}
spec: {{}}
"""


def pod(name: str = "web", namespace: str = "shop", annotations: str = "{}", owners: str = "[]") -> str:
    return POD.format(name=name, namespace=namespace, annotations=annotations, owners=owners)


def test_a_broken_rule_becomes_an_internal_error_and_the_others_still_run() -> None:
    resources, _ = load_text(dedent(pod()), "t.yaml")
    findings = Engine(Policy(), CATALOGUE).check(resources[0], World(Inventory(resources)))
    assert [(f.code, f.action) for f in findings] == [
        ("MW901", Action.DENY),
        ("MW000", Action.WARN),
        ("MW903", Action.WARN),
    ]
    assert "rule MW902 (explodes) failed on Pod shop/web: KeyError" in findings[1].message
    assert [f.message_id for f in findings] == ["MW901/no-x", "MW000/rule-failed", "MW903/alone"]


def test_a_rule_that_says_what_it_did_not_declare_is_an_internal_error() -> None:
    resources, _ = load_text(dedent(pod()), "t.yaml")
    engine = Engine(Policy(), Catalogue([says_too_much, needs_world]))
    findings = engine.check(resources[0], World(Inventory(resources)))
    assert [f.message_id for f in findings] == ["MW903/alone", "MW000/rule-failed"]
    assert (
        "rule MW904 (says-too-much) failed on Pod shop/web: UndeclaredMessageError: " in findings[1].message
    )
    assert "message 'unsaid' is not one of MW904's (said)" in findings[1].message


def test_a_declared_fix_reaches_the_finding() -> None:
    resources, _ = load_text(dedent(pod(name="bad")), "t.yaml")
    [finding] = Engine(Policy(), Catalogue([fixes_name])).check(resources[0], World(Inventory(resources)))
    assert finding.autofix == Autofix("rename", (Edit(("metadata", "name"), "bad", "good"),), Safety.SAFE)


@pytest.mark.parametrize(
    ("name", "complaint"),
    [
        ("unsafe", "MW905/bad-name carries a fix (unsafe) its declaration does not list (safe)"),
        ("worse", "MW905/worse-name carries a fix (safe) its declaration does not list (no fix)"),
    ],
)
def test_a_fix_the_rule_did_not_declare_is_an_internal_error(name: str, complaint: str) -> None:
    resources, _ = load_text(dedent(pod(name=name)), "t.yaml")
    [finding] = Engine(Policy(), Catalogue([fixes_name])).check(resources[0], World(Inventory(resources)))
    assert finding.code == "MW000"
    assert complaint in finding.message


def test_a_rule_cannot_declare_a_fix_for_a_message_it_does_not_have() -> None:
    with pytest.raises(ValueError, match="fixes names 'nope'"):
        rule(
            code="MW906",
            name="n",
            kinds={POD},
            default=Action.WARN,
            messages={"m": "m"},
            fixes={"nope": Safety.SAFE},
            **DOC,
        )(fixes_name.check)


@pytest.mark.parametrize(
    "messages",
    [{}, {"Not-Lowercase": "x"}, {"trailing-": "x"}, {"two words": "x"}, {"empty": " "}, {"lines": "a\nb"}],
)
def test_a_rule_declares_messages_with_readable_ids_and_one_line_each(messages: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="MW905"):
        rule(code="MW905", name="bad", kinds={POD}, default=Action.DENY, messages=messages, **DOC)


def test_cross_rules_are_skipped_when_the_inventory_is_incomplete() -> None:
    assert ("MW903", "warn") not in check(pod(), complete=False)


def test_controller_owned_pods_are_only_warned_for_template_rules() -> None:
    owned = pod(owners="[{apiVersion: apps/v1, kind: ReplicaSet, name: web-1, uid: u, controller: true}]")
    assert ("MW901", "warn") in check(owned)
    not_controller = pod(owners="[{apiVersion: v1, kind: Thing, name: t, uid: u}]")
    assert ("MW901", "deny") in check(not_controller)


def test_weak_violations_are_warnings_except_under_strict() -> None:
    assert ("MW901", "warn") in check(pod(name="weak-one"))
    assert ("MW901", "deny") in check(pod(name="weak-one"), Policy().with_profile(Profile.STRICT))


def test_exempt_namespaces_are_not_checked() -> None:
    assert check(pod(namespace="kube-system")) == []
    assert check(pod(namespace="shop"), parse_policy("exemptNamespaces: [sh*]", CATALOGUE)) == []


def test_suppression_annotation_by_code_name_or_star() -> None:
    assert ("MW901", "suppressed") in check(pod(annotations="{meshwarden.io/suppress: 'mw901'}"))
    by_name = check(pod(annotations="{meshwarden.io/suppress: 'explodes, pod-has-label-x'}"))
    assert ("MW901", "suppressed") in by_name
    everything = check(pod(annotations="{meshwarden.io/suppress: '*'}"))
    assert {state for code, state in everything if code != "MW000"} == {"suppressed"}


def test_suppression_on_a_workload_covers_its_template() -> None:
    deployment = """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, annotations: {meshwarden.io/suppress: MW901}}
    spec: {template: {metadata: {labels: {a: b}}, spec: {}}}
    """
    assert check(deployment) == [("MW901", "suppressed")]
    in_template = deployment.replace("annotations: {meshwarden.io/suppress: MW901}", "labels: {}").replace(
        "metadata: {labels: {a: b}}", "metadata: {annotations: {meshwarden.io/suppress: MW901}}"
    )
    assert check(in_template) == [("MW901", "suppressed")]


def test_run_wide_suppression_with_object_patterns() -> None:
    assert ("MW901", "suppressed") in check(pod(), suppress=("MW901=Pod/shop/*",))
    assert ("MW901", "deny") in check(pod(), suppress=("MW901=Pod/other/*",))
    assert ("MW901", "suppressed") in check(pod(), suppress=("pod-has-label-x",))


def test_rules_switched_off_do_not_run() -> None:
    assert check(pod(), parse_policy("rules: {}", CATALOGUE)) != []
    off = Engine(Policy(actions={"MW901": Action.OFF, "MW902": Action.OFF, "MW903": Action.OFF}), CATALOGUE)
    resources, _ = load_text(dedent(pod()), "t.yaml")
    assert off.check(resources[0], World(Inventory(resources))) == []


class CountingInventory(Inventory):
    """The real store, counting the lookups that one review makes."""

    def __init__(self, resources: list[Resource]):
        super().__init__(resources)
        self.asked: Counter[str] = Counter()

    def namespace_labels(self, namespace: str) -> Mapping[str, str] | None:
        self.asked["namespace_labels"] += 1
        return super().namespace_labels(namespace)

    def gateways_selecting(self, pod: PodTemplate, *, namespace_scoped: bool = False) -> list[Resource]:
        self.asked["gateways_selecting"] += 1
        return super().gateways_selecting(pod, namespace_scoped=namespace_scoped)

    def destination_rules_for_host(self, host_fqdn: str) -> list[Resource]:
        self.asked["destination_rules_for_host"] += 1
        return super().destination_rules_for_host(host_fqdn)

    def services_for_host(self, host_fqdn: str) -> list[Resource]:
        self.asked["services_for_host"] += 1
        return super().services_for_host(host_fqdn)


def reviewed(manifest: str) -> tuple[Resource, CountingInventory]:
    """The last object of the manifest, and an inventory of the others."""
    resources, errors = load_text(dedent(manifest), "t.yaml")
    assert not errors
    return resources[-1], CountingInventory(resources[:-1])


def test_the_rules_of_one_review_decide_mesh_membership_once() -> None:
    """MW101 and MW102 both skip pods outside the mesh and gateway pods: one decision serves both."""
    pod, inventory = reviewed(
        """
        apiVersion: v1
        kind: Namespace
        metadata: {name: shop, labels: {istio-injection: enabled}}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: web, namespace: shop, labels: {app: web}}
        spec: {containers: [{name: web, image: web}]}
        """
    )
    findings = Engine(Policy()).check(pod, World(inventory))
    assert [f.message_id for f in findings] == ["MW101/no-version-label"]
    assert inventory.asked == {"namespace_labels": 1, "gateways_selecting": 1}


def test_a_host_named_by_many_destinations_is_looked_up_once_per_review() -> None:
    vs, inventory = reviewed(
        """
        apiVersion: v1
        kind: Service
        metadata: {name: reviews, namespace: shop}
        spec: {ports: [{name: http, port: 9080}]}
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: reviews, namespace: shop}
        spec:
          host: reviews
          subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews, namespace: shop}
        spec:
          hosts: [reviews]
          http:
          - match: [{headers: {end-user: {exact: jason}}}]
            route: [{destination: {host: reviews, subset: v2}}]
          - route:
            - {destination: {host: reviews, subset: v1}, weight: 90}
            - {destination: {host: reviews, subset: v3}, weight: 10}
            mirror: {host: reviews, subset: v2}
        """
    )
    findings = Engine(Policy()).check(vs, World(inventory))
    assert [(f.message_id, f.path) for f in findings] == [
        ("MW305/subset-not-in-rule", "spec.http[1].route[1].destination.subset")
    ]
    forms = len(covering_hosts("reviews.shop.svc.cluster.local"))  # wildcard DestinationRules count
    assert inventory.asked == {"destination_rules_for_host": forms, "services_for_host": 1}
