"""The webhook's matchConditions (CEL), evaluated as the API server evaluates them before each call,
read from the rendered kustomize base and Helm chart: which requests reach the server and which
are never sent.

The API server gives the expressions `object` and `oldObject` (null for CREATE), and `request`: the
AdmissionRequest without the objects, converted to unstructured, so that empty optional fields
(name, namespace, subResource) are absent and the uid is empty. Any condition false: not sent; an
evaluation error: failurePolicy decides (Fail rejects the write), so none may error.
"""

from __future__ import annotations

import copy
from typing import Any

import cel
import pytest

from tests import test_manifests as manifests
from tests.e2e.reviews import bookinfo_pod, deployment, review, service, virtual_service
from tests.test_chart import render_chart
from webhook.engine import Engine
from webhook.inventory.source import StaticSource
from webhook.kube import is_controller_managed
from webhook.model import Resource
from webhook.policy import parse_policy
from webhook.rules import CATALOGUE
from webhook.server.admission import Decision, admit
from webhook.server.review import parse_review

Obj = dict[str, Any]

NO_VERSION = {"app": "productpage"}
"""Every pod below lacks its version label: a bare one is denied (MW101)."""


def controller(name: str) -> str:
    """The user a controller of kube-controller-manager writes as."""
    return f"system:serviceaccount:kube-system:{name}"


def owner(kind: str, name: str, *, controller: bool | None = True, api_version: str = "apps/v1") -> Obj:
    reference: Obj = {"apiVersion": api_version, "kind": kind, "name": name, "uid": "6fcda717-ae19"}
    if controller is not None:
        reference["controller"] = controller
        reference["blockOwnerDeletion"] = controller
    return reference


def pod(*owners: Obj, generated: bool = False, mirror: bool = False) -> Obj:
    made = bookinfo_pod(labels=NO_VERSION)
    if owners:
        made["metadata"]["ownerReferences"] = list(owners)
    if generated:
        made["metadata"]["generateName"] = made["metadata"].pop("name") + "-"
    if mirror:
        made["metadata"]["annotations"]["kubernetes.io/config.mirror"] = "2b9c0e1f"
    return made


def sent(
    obj: Obj,
    operation: str = "CREATE",
    *,
    user: str = "kubernetes-admin",
    old: Obj | None = None,
    **options: Any,
) -> Obj:
    if operation == "UPDATE" and old is None:
        old = copy.deepcopy(obj)
    made = review(obj, operation, old=old, **options)
    made["request"]["userInfo"]["username"] = user
    return made


def owned(obj: Obj, *owners: Obj) -> Obj:
    obj["metadata"]["ownerReferences"] = list(owners)
    return obj


def replica_set() -> Obj:
    made = deployment(labels=NO_VERSION)
    made["kind"], made["metadata"]["name"] = "ReplicaSet", "productpage-v1-6b746f74dc"
    return owned(made, owner("Deployment", "productpage-v1"))


def job() -> Obj:
    made = deployment(labels=NO_VERSION)
    made["apiVersion"], made["kind"], made["metadata"]["name"] = "batch/v1", "Job", "report-28519200"
    del made["spec"]["replicas"], made["spec"]["selector"]
    made["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    return owned(made, owner("CronJob", "report", api_version="batch/v1"))


SENT = {
    "a Pod a person applies": sent(pod()),
    "a Pod a person applies with --dry-run=server": sent(pod(), dry_run=True),
    "a Pod named by generateName": sent(pod(generated=True)),
    "an update removing a Pod's version label": sent(pod(), "UPDATE", old=bookinfo_pod()),
    "a Pod whose owner is not its controller": sent(
        pod(
            owner("ConfigMap", "settings", controller=False, api_version="v1"),
            owner("Secret", "s", controller=None),
        )
    ),
    "a Deployment a person applies": sent(deployment(labels=NO_VERSION)),
    "a ReplicaSet a person applies": sent(owned(replica_set())),
    "a Deployment whose owner is not its controller": sent(
        owned(
            deployment(labels=NO_VERSION),
            owner("Shop", "web", controller=False, api_version="example.com/v1"),
        )
    ),
    "a Service": sent(service([{"name": "http", "port": 9080}])),
    "a VirtualService": sent(
        virtual_service({"hosts": ["reviews"], "http": [{"route": [{"destination": {"host": "reviews"}}]}]})
    ),
    "a Namespace": sent(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": {}}},
        namespace="shop",
    ),
}
NOT_SENT = {
    "a ReplicaSet its Deployment owns": sent(replica_set(), user=controller("deployment-controller")),
    "a Job its CronJob owns": sent(job(), user=controller("cronjob-controller")),
    "a Deployment an operator owns": sent(
        owned(deployment(labels=NO_VERSION), owner("Shop", "web", api_version="example.com/v1"))
    ),
    "a ReplicaSet's Pod": sent(
        pod(owner("ReplicaSet", "productpage-v1-6b746f74dc"), generated=True),
        user=controller("replicaset-controller"),
    ),
    "a StatefulSet's Pod": sent(pod(owner("StatefulSet", "db")), user=controller("statefulset-controller")),
    "a DaemonSet's Pod": sent(
        pod(owner("DaemonSet", "agent"), generated=True),
        user=controller("daemon-set-controller"),
    ),
    "a Job's Pod": sent(
        pod(owner("Job", "report-28519200", api_version="batch/v1"), generated=True),
        user=controller("job-controller"),
    ),
    "the kubelet's mirror Pod": sent(
        pod(owner("Node", "node-1", api_version="v1"), mirror=True), user="system:node:node-1"
    ),
    "a Pod whose second owner is its controller": sent(
        pod(
            owner("ConfigMap", "settings", controller=False, api_version="v1"),
            owner("ReplicaSet", "productpage-v1-6b746f74dc"),
        )
    ),
    "a person's update of a controller's Pod": sent(
        pod(owner("ReplicaSet", "productpage-v1-6b746f74dc")), "UPDATE"
    ),
    "a person's dry run of a Pod with a controller": sent(
        pod(owner("ReplicaSet", "productpage-v1-6b746f74dc")), dry_run=True
    ),
}


def rendered() -> dict[str, list[Obj]]:
    return {"kustomize base": manifests.render("base"), "Helm chart": render_chart({})}


@pytest.fixture(scope="module", params=["kustomize base", "Helm chart"])
def conditions(request: pytest.FixtureRequest) -> list[Obj]:
    found: list[Obj] = manifests.webhook(rendered()[request.param])["matchConditions"]
    return found


def variables(admission_review: Obj) -> Obj:
    """The CEL variables the API server evaluates matchConditions with."""
    request = {k: v for k, v in admission_review["request"].items() if k not in ("object", "oldObject")}
    request["uid"] = ""
    for optional in ("name", "namespace", "subResource", "requestSubResource"):
        if not request.get(optional):
            request.pop(optional, None)
    return {
        "object": admission_review["request"]["object"],
        "oldObject": admission_review["request"]["oldObject"],
        "request": request,
    }


def is_sent(conditions: list[Obj], admission_review: Obj) -> bool:
    results = [cel.evaluate(condition["expression"], variables(admission_review)) for condition in conditions]
    assert all(isinstance(result, bool) for result in results), results
    return all(results)


@pytest.mark.parametrize("name", list(SENT))
def test_sent(conditions: list[Obj], name: str) -> None:
    assert is_sent(conditions, SENT[name])


@pytest.mark.parametrize("name", list(NOT_SENT))
def test_not_sent(conditions: list[Obj], name: str) -> None:
    assert not is_sent(conditions, NOT_SENT[name])


def test_kustomize_and_helm_carry_the_same_conditions() -> None:
    base, chart = (manifests.webhook(objects)["matchConditions"] for objects in rendered().values())
    assert base == chart


def decision(admission_review: Obj) -> Decision:
    strict = Engine(parse_policy("profile: strict\n", CATALOGUE))
    return admit(parse_review(admission_review), strict, StaticSource()).decision


WORKLOAD_KINDS = {"Pod", "ReplicaSet", "Job", "Deployment"}


@pytest.mark.parametrize(
    "name", [n for n, r in {**SENT, **NOT_SENT}.items() if r["request"]["kind"]["kind"] in WORKLOAD_KINDS]
)
def test_a_workload_is_not_sent_exactly_when_the_server_could_only_warn(
    conditions: list[Obj], name: str
) -> None:
    """The skipped pods and workloads are those the engine treats as a controller's: never denied,
    whatever the policy. The others, all lacking their version label, are denied."""
    admission_review = {**SENT, **NOT_SENT}[name]
    managed = is_controller_managed(Resource(admission_review["request"]["object"], "bookinfo"))
    assert is_sent(conditions, admission_review) is not managed
    assert (decision(admission_review) is Decision.DENY) is not managed
