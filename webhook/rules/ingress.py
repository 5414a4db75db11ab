"""Ingress integration rules (MW6xx): ingress-nginx in front of a mesh."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from webhook.findings import Action, Autofix, Edit, Safety, Violation
from webhook.inventory.detail import Detail
from webhook.kinds import INGRESS, INGRESS_CLASS
from webhook.kube import service_fqdn
from webhook.model import Resource, as_dict, as_list, scalar_text
from webhook.rules.registry import Context, Input, rule

NGINX_CLASS = "nginx"
NGINX_CONTROLLER = "k8s.io/ingress-nginx"
CLASS_ANNOTATION = "kubernetes.io/ingress.class"
SERVICE_UPSTREAM = "nginx.ingress.kubernetes.io/service-upstream"
UPSTREAM_VHOST = "nginx.ingress.kubernetes.io/upstream-vhost"
# ingress-nginx sets these per location, so one annotation can name each backend's FQDN.
VHOST_VARIABLES = ("$service_name", "$namespace")
VHOST_PATTERN = "$service_name.$namespace.svc.cluster.local"


def _ingress_class(ingress: Resource) -> str:
    return scalar_text(ingress.spec.get("ingressClassName") or ingress.annotations.get(CLASS_ANNOTATION, ""))


def _is_nginx(name: str, context: Context) -> bool:
    """Class `nginx`, or an IngressClass of that name whose controller is ingress-nginx."""
    if name == NGINX_CLASS:
        return True
    return any(
        as_dict(found.spec).get("controller") == NGINX_CONTROLLER
        for found in context.inventory.named(INGRESS_CLASS, name)
    )


def _backend_service(backend: Any) -> str:
    """networking.k8s.io/v1 `service.name`, or the older extensions/v1beta1 `serviceName`."""
    backend = as_dict(backend)
    return scalar_text(as_dict(backend.get("service")).get("name") or backend.get("serviceName") or "")


def _backend_services(ingress: Resource) -> list[str]:
    spec = ingress.spec
    backends = [spec.get("defaultBackend"), spec.get("backend")]
    for ingress_rule in as_list(spec.get("rules")):
        for path in as_list(as_dict(as_dict(ingress_rule).get("http")).get("paths")):
            backends.append(as_dict(path).get("backend"))
    names = (_backend_service(backend) for backend in backends)
    return list(dict.fromkeys(name for name in names if name))


def _vhost_for(vhost: str, service: str, namespace: str) -> str:
    return vhost.replace(VHOST_VARIABLES[0], service).replace(VHOST_VARIABLES[1], namespace)


@rule(
    code="MW601",
    name="ingress-nginx-mesh-upstream",
    kinds={INGRESS},
    default=Action.WARN,
    inputs=(Input(INGRESS_CLASS, Detail.SPEC),),
    messages={
        "service-upstream-off": 'the `service-upstream` annotation is not `"true"`',
        "upstream-vhost-wrong": "the `upstream-vhost` annotation does not name the backend Service's FQDN",
        "upstream-and-vhost-wrong": 'both: `service-upstream` is not `"true"`, and `upstream-vhost` does '
        "not name the backend Service's FQDN",
    },
    fixes={
        "service-upstream-off": Safety.SAFE,
        "upstream-vhost-wrong": Safety.SAFE,
        "upstream-and-vhost-wrong": Safety.SAFE,
    },
    summary="""
        When the policy says the ingress-nginx controller runs with a sidecar
        (`ingressNginx.meshed: true`), checks that every Ingress of class `nginx` sets
        `nginx.ingress.kubernetes.io/service-upstream: "true"` and an
        `nginx.ingress.kubernetes.io/upstream-vhost` equal to its backend Service's FQDN
        `<service>.<namespace>.svc.cluster.local`.
    """,
    why="""
        By default ingress-nginx sends requests straight to pod IPs with the external Host header.
        Its sidecar then sees traffic to no known service and no matching host, so the backend's
        VirtualService rules (subsets, retries, fault injection, mTLS policy by host) are skipped
        or the request gets a 404 from the mesh. With `service-upstream` nginx targets the Service,
        and with `upstream-vhost` the Host header matches the VirtualService host.
    """,
    fix="""
        Add both annotations to the Ingress; with several backend Services use
        `upstream-vhost: $service_name.$namespace.svc.cluster.local` or split the Ingress per Service.
    """,
    bad="""
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: shop
        spec:
          ingressClassName: nginx
          rules:
          - host: shop.example.com
            http:
              paths:
              - path: /
                pathType: Prefix
                backend:
                  service: {name: frontend, port: {number: 80}}
    """,
    good="""
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: shop
          annotations:
            nginx.ingress.kubernetes.io/service-upstream: "true"
            nginx.ingress.kubernetes.io/upstream-vhost: frontend.default.svc.cluster.local
        spec:
          ingressClassName: nginx
          rules:
          - host: shop.example.com
            http:
              paths:
              - path: /
                pathType: Prefix
                backend:
                  service: {name: frontend, port: {number: 80}}
    """,
)
def ingress_nginx_mesh_upstream(ingress: Resource, context: Context) -> Iterator[Violation]:
    if not context.mesh.ingress_nginx_meshed or not _is_nginx(_ingress_class(ingress), context):
        return
    annotations = ingress.annotations
    services = _backend_services(ingress)
    problems: list[_Problem] = []
    upstream = annotations.get(SERVICE_UPSTREAM)
    if (upstream or "").strip().lower() != "true":
        problems.append(
            _Problem(
                f"metadata.annotations.{SERVICE_UPSTREAM}",
                f'{SERVICE_UPSTREAM} is "{upstream}"'
                if upstream is not None
                else f"{SERVICE_UPSTREAM} is not set",
                f'set {SERVICE_UPSTREAM}: "true"',
                _set_annotation(ingress, SERVICE_UPSTREAM, "true"),
                f'set {SERVICE_UPSTREAM}: "true"',
            )
        )
    vhost = annotations.get(UPSTREAM_VHOST)
    expected = {name: service_fqdn(name, ingress.namespace) for name in services}
    wrong = [
        name
        for name in services
        if _vhost_for((vhost or "").strip(), name, ingress.namespace) != expected[name]
    ]
    if wrong:
        shown = ", ".join(expected[name] for name in services)
        state = f'is "{vhost}"' if vhost is not None else "is not set"
        meant = expected[services[0]] if len(services) == 1 else VHOST_PATTERN
        step = f"set {UPSTREAM_VHOST}: {meant}"
        problems.append(
            _Problem(
                f"metadata.annotations.{UPSTREAM_VHOST}",
                f"{UPSTREAM_VHOST} {state}, not {shown}",
                step if len(services) == 1 else f"{step}, or split the Ingress per Service",
                _set_annotation(ingress, UPSTREAM_VHOST, meant),
                step,
            )
        )
    if not problems:
        return
    if len(problems) == 2:
        message_id = "upstream-and-vhost-wrong"
    elif wrong:
        message_id = "upstream-vhost-wrong"
    else:
        message_id = "service-upstream-off"
    title = "; ".join(p.step for p in problems)
    yield Violation(
        problems[0].path,
        f"nginx Ingress to {', '.join(services) or 'no Service backend'}: "
        + "; ".join(p.message for p in problems)
        + ", so its sidecar cannot apply the backend's VirtualService",
        "; ".join(p.fix for p in problems),
        message_id=message_id,
        autofix=Autofix(title, tuple(p.edit for p in problems), Safety.SAFE),
    )


class _Problem(NamedTuple):
    """One annotation to correct: where, what is wrong, the fix as told, its edit, and the fix as
    applied (`step`: without the alternative the fix tells of)."""

    path: str
    message: str
    fix: str
    edit: Edit
    step: str


def _set_annotation(ingress: Resource, key: str, value: str) -> Edit:
    return Edit(
        ("metadata", "annotations", key), as_dict(ingress.metadata.get("annotations")).get(key), value
    )
