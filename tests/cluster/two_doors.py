"""Two doors into one world: `meshwarden check` on files, and the admission server whose live
inventory watches a cluster (the fake API) holding the same objects.

A scenario is a set of manifest files. The CLI checks them all, with the files as its world. The
server's world is the fake API serving every object of the files plus, for every workload, the
Pod its controller would create (the fake runs no controllers); each object of the files is then
sent to the server as a CREATE AdmissionReview. What each door reports is reduced to `Seen`
(code, object, path, action), so that the two answers compare as sets.
"""

from __future__ import annotations

import copy
import io
import json
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.cluster.fakeapi import FakeApi, Kind
from tests.e2e.conftest import CONTEXT
from tests.polling import wait_for
from tests.test_docs import EXAMPLE_POLICY
from webhook.cluster import LiveSource
from webhook.commands import main
from webhook.inputs import read_inputs
from webhook.kube import TEMPLATE_PATHS
from webhook.loader import LoadOptions
from webhook.model import Resource, group_kind_of
from webhook.rules import CATALOGUE

Body = dict[str, Any]
Review = Callable[[Body], Body]
"""Sends an AdmissionReview through the server's door; returns the answer's `response`."""

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
WORLDS = Path(__file__).parent / "worlds"
POLICY = EXAMPLE_POLICY
"""The policy both doors use: the rule examples' own, under which every bad example shows."""

# How the admission answer lists findings (webhook/server/messages.py): a denial message line
# "- MW301 gateway-ref at spec.gateways[0]: ...", a warning "MW302 spec.hosts[0]: ...".
DENIAL_LINE = re.compile(r"^- (?P<code>MW\d{3}) [a-z0-9-]+(?: at (?P<path>\S+))?: ")
DENIAL_DETAIL = re.compile(r"^ {2}(fix|docs|corrected|corrected \(changes behaviour on purpose\)): ")
WARNING_LINE = re.compile(r"^(?P<code>MW\d{3})(?: (?P<path>\S+))?: ")


@dataclass(frozen=True, order=True)
class Seen:
    """One finding as a door reports it; the object by API group, kind, namespace and name."""

    code: str
    kind: str
    group: str
    namespace: str
    name: str
    path: str
    action: str

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        kind = f"{self.kind}.{self.group}" if self.group else self.kind
        return f"{self.code} {self.action:<4} {kind} {where} {self.path or '(no path)'}"


@dataclass(frozen=True)
class Scenario:
    """Manifest files, as (file name, text)."""

    id: str
    files: tuple[tuple[str, str], ...]

    def write(self, directory: Path) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in self.files:
            (directory / name).write_text(text, encoding="utf-8")
        return [directory / name for name, _ in self.files]


@dataclass(frozen=True)
class Answer:
    """What one door said: findings, and anything else it said (which should be nothing)."""

    findings: frozenset[Seen]
    remarks: tuple[str, ...] = ()


# --- the scenarios ---------------------------------------------------------------------------------


def rule_examples() -> list[Scenario]:
    return [
        Scenario(f"{rule.code}-{which}", ((f"{rule.code}-{which}.yaml", getattr(rule, which)),))
        for rule in CATALOGUE
        for which in ("bad", "good")
    ]


def corpus() -> list[Scenario]:
    """examples/bookinfo; each review object of examples/ in the end-to-end tests' cluster dump;
    each file of tests/cluster/worlds/."""
    bookinfo = tuple((p.name, p.read_text()) for p in sorted((EXAMPLES / "bookinfo").glob("*.yaml")))
    scenarios = [Scenario("bookinfo", bookinfo)]
    for review in sorted(EXAMPLES.glob("review-*.json")):
        obj = json.loads(review.read_text())["request"]["object"]
        files = (("context.yaml", CONTEXT), (f"{review.stem}.json", json.dumps(obj, indent=1)))
        scenarios.append(Scenario(review.stem, files))
    scenarios += [Scenario(p.stem, ((p.name, p.read_text()),)) for p in sorted(WORLDS.glob("*.yaml"))]
    return scenarios


def load(paths: Sequence[Path]) -> list[Resource]:
    """The objects of the files, whole: the bodies the fake API serves and the server reviews."""
    inputs = read_inputs([str(p) for p in paths], LoadOptions())
    assert not inputs.errors, [str(e) for e in inputs.errors]
    return inputs.resources


# --- the CLI's door --------------------------------------------------------------------------------


def cli_answer(paths: Sequence[Path], policy: Path) -> Answer:
    """`meshwarden check PATHS --config POLICY --format json`, in process."""
    out, err = io.StringIO(), io.StringIO()
    argv = ["check", *map(str, paths), "--config", str(policy), "--format", "json", "--fail-on", "never"]
    with redirect_stdout(out), redirect_stderr(err):
        status = main(argv)
    remarks = [line for line in err.getvalue().splitlines() if line]
    if status != 0:
        return Answer(frozenset(), (f"exit status {status}", *remarks))
    report = json.loads(out.getvalue())
    remarks += [f"{e['file']}:{e['line']}: {e['message']}" for e in report["errors"]]
    # The admission answer leaves suppressed findings out.
    findings = frozenset(_seen(f) for f in report["findings"] if not f["suppressed"])
    return Answer(findings, tuple(remarks))


def _seen(finding: Body) -> Seen:
    code, path, action, obj = finding["code"], finding["path"], finding["action"], finding["object"]
    return Seen(code, obj["kind"], _group(obj["apiVersion"]), obj["namespace"], obj["name"], path, action)


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


# --- the server's door -----------------------------------------------------------------------------


class World:
    """What the fake API serves: one scenario's objects at a time, and their controllers' pods."""

    def __init__(self, fake: FakeApi):
        self.fake = fake
        self._kinds = {(kind.group, kind.kind): kind for kind in fake.kinds}
        self._served: set[tuple[str, str, str]] = set()

    def kind(self, resource: Resource) -> Kind:
        group = _group(resource.ref.api_version)
        found = self._kinds.get((group, resource.kind))
        assert found is not None, (
            f"the fake API serves no {resource.kind} of group {group or 'core'!r}: "
            "add it to tests/cluster/fakeapi.py"
        )
        return found

    def stored(self, resource: Resource) -> Body:
        """The object as the API server holds it: name and namespace filled in."""
        body = copy.deepcopy(resource.body)
        metadata = body.setdefault("metadata", {})
        metadata["name"] = resource.name
        if self.kind(resource).namespaced:
            metadata["namespace"] = resource.namespace
        return body

    def become(self, resources: Iterable[Resource]) -> int:
        """Serves exactly these objects and their controllers' pods; returns the resourceVersion
        that includes every change."""
        bodies = [self.stored(r) for r in resources]
        bodies += [pod for body in bodies if (pod := controller_pod(body)) is not None]
        wanted = {_key(body): body for body in bodies}
        for gone in self._served - wanted.keys():
            self.fake.delete(*gone)
            self._served.discard(gone)
        for key, body in wanted.items():
            self.fake.put(body)
            self._served.add(key)
        return self.fake.resource_version


def wait_until_seen(fake: FakeApi, live: LiveSource, version: int) -> None:
    """Waits until every watch of the live inventory has passed `version`: each gets bookmarks at
    the latest version, after the events before it, so a watch there has applied them all."""

    def seen() -> bool:
        fake.bookmark()
        reflectors = live.reflectors
        return bool(reflectors) and all(int(r.resource_version or 0) >= version for r in reflectors)

    wait_for(seen, f"the live inventory to reach resourceVersion {version}")


def controller_pod(workload: Body) -> Body | None:
    """The Pod the workload's controller would create: the template's metadata and spec, owned by it."""
    keys = TEMPLATE_PATHS.get(group_kind_of(workload["apiVersion"], workload["kind"]))
    if keys is None:
        return None
    template: Any = workload
    for key in keys:
        template = template.get(key) if isinstance(template, dict) else None
    template = template if isinstance(template, dict) else {}
    metadata = template.get("metadata") if isinstance(template.get("metadata"), dict) else {}
    spec = template.get("spec") if isinstance(template.get("spec"), dict) else {}
    owner = workload["metadata"]
    pod_metadata: Body = {
        **{k: copy.deepcopy(v) for k, v in metadata.items() if k in ("labels", "annotations")},
        "name": f"{owner['name']}-{workload['kind'].lower()}-0",
        "namespace": owner["namespace"],
        "ownerReferences": [
            {
                "apiVersion": workload["apiVersion"],
                "kind": workload["kind"],
                "name": owner["name"],
                "uid": f"uid-of-{workload['kind'].lower()}-{owner['name']}",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_metadata, "spec": copy.deepcopy(spec)}


def _key(body: Body) -> tuple[str, str, str]:
    """(`Kind.group`, namespace, name), as the fake API's `delete` takes it."""
    metadata = body["metadata"]
    group = _group(body["apiVersion"])
    return (
        f"{body['kind']}.{group}" if group else body["kind"],
        metadata.get("namespace", ""),
        metadata["name"],
    )


def admission_review(body: Body, kind: Kind) -> Body:
    """A CREATE AdmissionReview as kube-apiserver sends it."""
    group, _, version = body["apiVersion"].rpartition("/")
    metadata = body["metadata"]
    gvk = {"group": group, "version": version, "kind": kind.kind}
    gvr = {"group": group, "version": version, "resource": kind.plural}
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()),
            "kind": gvk,
            "resource": gvr,
            "requestKind": gvk,
            "requestResource": gvr,
            "name": metadata["name"],
            "namespace": metadata.get("namespace", ""),
            "operation": "CREATE",
            "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters"]},
            "object": body,
            "oldObject": None,
            "dryRun": False,
            "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"},
        },
    }


def server_answer(review: Review, world: World, resources: Iterable[Resource]) -> Answer:
    """Each object reviewed by the server, against the world the fake API serves."""
    findings: set[Seen] = set()
    remarks: list[str] = []
    for resource in resources:
        response = review(admission_review(world.stored(resource), world.kind(resource)))
        found = reported(response, resource)
        findings |= found.findings
        remarks += [f"{resource.ref}: {remark}" for remark in found.remarks]
    return Answer(frozenset(findings), tuple(remarks))


def reported(response: Body, resource: Resource) -> Answer:
    """The findings in one admission answer: the denial message's list, and the warnings."""
    ref = resource.ref
    findings: set[Seen] = set()
    remarks: list[str] = []

    def add(match: re.Match[str], action: str) -> None:
        group = _group(ref.api_version)
        findings.add(
            Seen(match["code"], ref.kind, group, ref.namespace, ref.name, match["path"] or "", action)
        )

    message = "" if response["allowed"] else response["status"]["message"]
    for line in message.splitlines()[1:-1]:  # between the headline and the hint on suppressing
        if match := DENIAL_LINE.match(line):
            add(match, "deny")
        elif not DENIAL_DETAIL.match(line):
            remarks.append(f"denial message: {line}")
    for line in response.get("warnings", []):
        if match := WARNING_LINE.match(line):
            add(match, "warn")
        else:
            remarks.append(f"warning: {line}")
    return Answer(frozenset(findings), tuple(remarks))


# --- comparing -------------------------------------------------------------------------------------


def differences(cli: Answer, server: Answer) -> str:
    """Both answers side by side, or "" when they agree."""
    if cli.findings == server.findings and not cli.remarks and not server.remarks:
        return ""

    def block(title: str, lines: Iterable[object]) -> list[str]:
        return [f"  {title}:", *([f"    {line}" for line in lines] or ["    (none)"])]

    return "\n".join(
        [
            "the CLI and the server disagree",
            *block("only the CLI (meshwarden check)", sorted(cli.findings - server.findings)),
            *block("only the server (admission review)", sorted(server.findings - cli.findings)),
            *block("both", sorted(cli.findings & server.findings)),
            *block("the CLI also said", cli.remarks),
            *block("the server also said", server.remarks),
        ]
    )


def assert_same_answer(scenario: Scenario, cli: Answer, server: Answer) -> None:
    problem = differences(cli, server)
    assert not problem, f"{scenario.id}: {problem}"
