"""Gateway server rules (MW403, MW404): valid servers, and no two Gateways serving the same host."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, NamedTuple

from webhook.findings import Action, Violation
from webhook.inventory.detail import Detail
from webhook.istio.gateway import (
    port_number,
    selector_of,
    show_labels,
)
from webhook.istio.protocols import GATEWAY_PROTOCOLS
from webhook.kinds import GATEWAY, POD
from webhook.kube import PodTemplate, selector_matches
from webhook.model import Resource, as_dict, as_list, scalar_text
from webhook.rules.registry import Context, Input, rule

TLS_PROTOCOLS = frozenset({"HTTPS", "TLS"})
HTTP_PROTOCOLS = frozenset({"HTTP", "HTTP2", "GRPC", "GRPC-WEB", "HTTP_PROXY"})
CERTIFICATE_MODES = frozenset({"SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL"})
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


# --- MW403 ---------------------------------------------------------------------------------------


class _Problem(NamedTuple):
    path: str
    message: str
    fix: str
    message_id: str


def _host_problem(path: str, host: str) -> _Problem | None:
    parts = host.split("/")
    if len(parts) > 2:
        return _Problem(
            path,
            f"host \"{host}\" has more than one '/'",
            f"write it as <namespace>/<host>, e.g. '*/{parts[-1]}'",
            message_id="host-several-slashes",
        )
    name = parts[-1]
    if len(parts) == 2:
        namespace = parts[0]
        if namespace not in ("*", ".") and not _DNS_LABEL.match(namespace):
            return _Problem(
                path,
                f'host "{host}" has an invalid namespace prefix "{namespace}"',
                f"use '*/{name}' (any namespace), './{name}' (the Gateway's) or '<namespace>/{name}'",
                message_id="host-namespace-invalid",
            )
    if name == "*":
        return None
    if not name:
        return _Problem(
            path,
            f'host "{host}" is empty',
            "name a host such as 'shop.example.com', or '*' for any host",
            message_id="host-empty",
        )
    if "*" in name and not (name.startswith("*.") and "*" not in name[1:]):
        domain = name.replace("*", "").lstrip(".")
        return _Problem(
            path,
            f"host \"{host}\" is a partial wildcard; only a whole first label may be '*'",
            f"use '*.{domain}' for its subdomains or '{domain}' for the domain itself",
            message_id="host-partial-wildcard",
        )
    if "." not in name:
        return _Problem(
            path,
            f'host "{host}" is a short name; Gateway hosts must be fully qualified domain names',
            f"use the domain clients send in the Host header, e.g. '{name}.example.com', or '*'",
            message_id="host-short-name",
        )
    return None


def _port_problems(path: str, server: dict[str, Any], names: dict[str, int]) -> list[_Problem]:
    port = server.get("port")
    if not isinstance(port, dict):
        return [
            _Problem(
                path,
                "the server has no port",
                "add port: {number: 80, name: http, protocol: HTTP}",
                message_id="port-missing",
            )
        ]
    problems = []
    number = port_number(server)
    protocol = scalar_text(port.get("protocol") or "")
    name = scalar_text(port.get("name") or "")
    if number is None or not 0 < number < 65536:
        problems.append(
            _Problem(
                f"{path}.number",
                f'port number "{scalar_text(port.get("number"))}" is missing or invalid',
                "set port.number to the port the gateway listens on (1-65535), e.g. 80",
                message_id="port-number-invalid",
            )
        )
    if not name:
        suggestion = f"{protocol.lower() or 'http'}-{number}" if number else protocol.lower() or "http"
        problems.append(
            _Problem(
                f"{path}.name",
                "the port has no name",
                f"set port.name: {suggestion}",
                message_id="port-name-missing",
            )
        )
    elif name in names:
        unique = f"{name}-{number}" if number else f"{name}-2"
        problems.append(
            _Problem(
                f"{path}.name",
                f'port name "{name}" is already used by spec.servers[{names[name]}]; '
                "Envoy drops this server (404)",
                f'give this server a unique port name, e.g. "{unique}"',
                message_id="port-name-duplicate",
            )
        )
    if protocol.upper() not in GATEWAY_PROTOCOLS:
        problems.append(
            _Problem(
                f"{path}.protocol",
                f'port protocol "{protocol}" is not one Istio knows'
                if protocol
                else "the port has no protocol",
                "set port.protocol to one of HTTP, HTTPS, HTTP2, GRPC, TCP, TLS",
                message_id="port-protocol-unknown" if protocol else "port-protocol-missing",
            )
        )
    return problems


def _tls_problems(path: str, server: dict[str, Any]) -> list[_Problem]:
    protocol = scalar_text(as_dict(server.get("port")).get("protocol") or "").upper()
    raw = server.get("tls")
    tls = as_dict(raw)
    problems = []
    if protocol in TLS_PROTOCOLS and not tls:
        problems.append(
            _Problem(
                path + ".tls" if raw is not None else path + ".port.protocol",
                f"the {protocol} server has no tls block",
                "add tls: {mode: SIMPLE, credentialName: <TLS Secret in the gateway's namespace>}, "
                "or tls: {mode: PASSTHROUGH} to pass TLS through to the backend",
                message_id="tls-missing",
            )
        )
    if tls.get("httpsRedirect") is True and protocol in GATEWAY_PROTOCOLS and protocol not in HTTP_PROTOCOLS:
        problems.append(
            _Problem(
                f"{path}.tls.httpsRedirect",
                f"tls.httpsRedirect is set on a {protocol} server; it only applies to plain HTTP servers",
                "remove httpsRedirect here and set it on the port-80 HTTP server for the same hosts",
                message_id="https-redirect-not-http",
            )
        )
    mode = scalar_text(tls.get("mode") or "").upper()
    has_files = bool(tls.get("serverCertificate")) and bool(tls.get("privateKey"))
    has_credential = bool(
        tls.get("credentialName") or tls.get("credentialNames") or tls.get("tlsCertificates")
    )
    if mode in CERTIFICATE_MODES and not has_files and not has_credential:
        problems.append(
            _Problem(
                f"{path}.tls",
                f"tls mode {mode} has neither credentialName nor serverCertificate and privateKey files",
                "set tls.credentialName to the TLS Secret with the certificate (in the gateway's namespace)",
                message_id="credential-missing",
            )
        )
    return problems


def _server_problems(index: int, server: dict[str, Any], names: dict[str, int]) -> list[_Problem]:
    path = f"spec.servers[{index}]"
    hosts = as_list(server.get("hosts"))
    problems = []
    if not hosts:
        problems.append(
            _Problem(
                f"{path}.hosts",
                "the server has no hosts",
                "add hosts: the domains it serves, e.g. ['shop.example.com'], or ['*']",
                message_id="no-hosts",
            )
        )
    for h, host in enumerate(hosts):
        problem = _host_problem(f"{path}.hosts[{h}]", scalar_text(host))
        if problem:
            problems.append(problem)
    problems += _port_problems(f"{path}.port", server, names)
    problems += _tls_problems(path, server)
    return problems


@rule(
    code="MW403",
    name="gateway-server-invalid",
    kinds={GATEWAY},
    default=Action.DENY,
    messages={
        "no-servers": "the Gateway has no servers",
        "no-hosts": "a server without hosts",
        "host-several-slashes": "a server host with more than one `/`",
        "host-namespace-invalid": "a server host whose namespace prefix is not `*`, `.` or a namespace name",
        "host-empty": "an empty server host",
        "host-partial-wildcard": "a server host with a wildcard that is not a whole first label",
        "host-short-name": "a server host that is a short name, not a fully qualified domain name",
        "port-missing": "a server without a port",
        "port-number-invalid": "a server port number that is missing or outside 1–65535",
        "port-name-missing": "a server port without a name",
        "port-name-duplicate": "a server port name that an earlier server of the Gateway uses",
        "port-protocol-missing": "a server port without a protocol",
        "port-protocol-unknown": "a server port protocol Istio does not know",
        "tls-missing": "an HTTPS or TLS server without a `tls` block",
        "https-redirect-not-http": "`tls.httpsRedirect` on a server that is not plain HTTP",
        "credential-missing": "tls mode SIMPLE, MUTUAL or OPTIONAL_MUTUAL with neither `credentialName` nor "
        "certificate files",
    },
    summary="""
        Checks each Gateway server the way Istio's validation does: the Gateway has servers, each
        has hosts that are fully qualified names or wildcards (`*`, `*.example.com`) with an
        optional `*/`, `./` or `<namespace>/` prefix, a port with number, name and a known protocol,
        a port name no earlier server uses, a `tls` block on HTTPS/TLS servers, certificates for
        SIMPLE/MUTUAL TLS, and `httpsRedirect` only on HTTP servers. A server with several
        problems is one finding whose message lists them all; its path and message id are the
        first problem's.
    """,
    why="""
        istiod rejects most of these, and the rest fail silently at runtime: when two servers share
        a port name, Envoy drops the second and its hosts get 404; `httpsRedirect` on an HTTPS
        server does nothing; a SIMPLE server without a certificate never completes a handshake.
    """,
    fix="""
        Correct the field the finding points at: a full domain name instead of a short one, a
        unique port name per server, a `tls` block with `credentialName` for HTTPS.
    """,
    bad="""
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: shop
        spec:
          selector:
            istio: ingressgateway
          servers:
          - port: {number: 80, name: http, protocol: HTTP}
            hosts: ["shop.example.com"]
          - port: {number: 80, name: http, protocol: HTTP}
            hosts: ["api.example.com"]
    """,
    good="""
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: shop
        spec:
          selector:
            istio: ingressgateway
          servers:
          - port: {number: 80, name: http-shop, protocol: HTTP}
            hosts: ["shop.example.com"]
            tls: {httpsRedirect: true}
          - port: {number: 443, name: https-shop, protocol: HTTPS}
            hosts: ["shop.example.com"]
            tls: {mode: SIMPLE, credentialName: shop-cert}
    """,
)
def gateway_server_invalid(gateway: Resource, context: Context) -> Iterator[Violation]:
    servers = context.facts(gateway).servers
    if not servers:
        yield Violation(
            "spec.servers",
            "the Gateway has no servers, so it opens no port and routes nothing",
            "add a server, e.g. servers: "
            "[{port: {number: 80, name: http, protocol: HTTP}, hosts: ['shop.example.com']}]",
            message_id="no-servers",
        )
        return
    names: dict[str, int] = {}
    for index, server in enumerate(servers):
        problems = _server_problems(index, server, names)
        name = scalar_text(as_dict(server.get("port")).get("name") or "")
        if name:
            names.setdefault(name, index)
        if problems:
            label = f"server {index} (port {port_number(server) or '?'})"
            yield Violation(
                problems[0].path,
                f"{label}: " + "; ".join(p.message for p in problems),
                "; ".join(p.fix for p in problems),
                message_id=problems[0].message_id,
            )


# --- MW404 ---------------------------------------------------------------------------------------


def _same_pods(gateway: Resource, other: Resource, pods: list[PodTemplate], scoped: bool) -> bool:
    """Identical selectors, or `other` selects one of `pods` (those `gateway` selects)."""
    if scoped and other.namespace != gateway.namespace:
        return False  # each selects only in its own namespace
    selector = selector_of(other)
    return selector == selector_of(gateway) or any(selector_matches(selector, pod.labels) for pod in pods)


def _conflicts(
    gateway: Resource, server: dict[str, Any], pods: list[PodTemplate], context: Context
) -> tuple[list[Resource], list[int]]:
    """Other Gateways on the same pods with this server's port, bind and a host; and which hosts."""
    number = port_number(server)
    if number is None:
        return [], []
    scoped = context.mesh.gateways_namespace_scoped
    bind = scalar_text(server.get("bind") or "")
    same: dict[tuple[str, str], bool] = {(gateway.namespace, gateway.name): False}
    found: dict[tuple[str, str], Resource] = {}
    shared: list[int] = []
    for position, host in enumerate(as_list(server.get("hosts"))):
        for other in context.inventory.gateways_with_server(number, scalar_text(host), bind):
            key = (other.namespace, other.name)
            if key not in same:
                same[key] = _same_pods(gateway, other, pods, scoped)
            if same[key]:
                found[key] = other
                if position not in shared:
                    shared.append(position)
    return list(found.values()), shared


@rule(
    code="MW404",
    name="gateway-conflict",
    kinds={GATEWAY},
    default=Action.DENY,
    inputs=(Input(GATEWAY, Detail.SPEC), Input(POD, Detail.METADATA)),
    messages={
        "host-served-twice": "another Gateway on the same gateway pods serves the same host on the same "
        "port and bind",
    },
    summary="""
        Checks that no other Gateway whose selector is identical or selects a common pod has a
        server with the same port number, the same `bind` and an identical host (a `*/` prefix
        aside; overlapping wildcards do not count).
    """,
    why="""
        Two Gateways configuring the same listener on the same proxies collide: Istio merges them
        in no defined order, so which TLS settings and which VirtualServices serve the host can
        change after any restart or unrelated update.
    """,
    fix="""
        Serve each host and port from one Gateway only: merge the servers into one Gateway, or
        remove the duplicate host from one of them.
    """,
    bad="""
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: shop
        spec:
          selector: {istio: ingressgateway}
          servers:
          - port: {number: 80, name: http, protocol: HTTP}
            hosts: ["shop.example.com"]
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: shop-legacy
        spec:
          selector: {istio: ingressgateway}
          servers:
          - port: {number: 80, name: http, protocol: HTTP}
            hosts: ["*/shop.example.com"]
    """,
    good="""
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: shop
        spec:
          selector: {istio: ingressgateway}
          servers:
          - port: {number: 80, name: http, protocol: HTTP}
            hosts: ["shop.example.com"]
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: shop-legacy
        spec:
          selector: {istio: ingressgateway}
          servers:
          - port: {number: 80, name: http, protocol: HTTP}
            hosts: ["legacy.shop.example.com"]
    """,
)
def gateway_conflict(gateway: Resource, context: Context) -> Iterator[Violation]:
    facts = context.facts(gateway)
    for index, server in enumerate(facts.servers):
        others, positions = _conflicts(gateway, server, facts.gateway_pods, context)
        if not others:
            continue
        hosts = as_list(server.get("hosts"))
        shared = ", ".join(scalar_text(hosts[p]) for p in positions)
        names = ", ".join(f"{o.namespace}/{o.name}" for o in others)
        number = port_number(server)
        bind = scalar_text(server.get("bind") or "")
        where = f"port {number}" + (f" (bind {bind})" if bind else "")
        yield Violation(
            f"spec.servers[{index}].hosts[{positions[0]}]",
            f"server {index}: host {shared} on {where} is also served by Gateway {names} on the same gateway "
            f"pods ({show_labels(facts.selector)}); Istio merges them in no defined order",
            f"serve {shared} on port {number} from one Gateway only: remove it from "
            f"spec.servers[{index}] here or from Gateway {names}, or merge the Gateways",
            message_id="host-served-twice",
        )
