"""Service rules (MW2xx)."""

from __future__ import annotations

from collections.abc import Iterator

from webhook.findings import Action, Autofix, Edit, Safety, Violation
from webhook.istio.protocols import (
    PROTOCOLS,
    protocol_in_name,
    protocol_of_app_protocol,
    protocol_of_name,
    protocol_of_number,
)
from webhook.kinds import SERVICE
from webhook.model import Resource, as_dict, as_list, scalar_text
from webhook.rules.registry import Context, rule

MANAGED_SERVICE_LABELS = ("istio", "gateway.istio.io/managed")


def _istio_managed(service: Resource) -> bool:
    labels = service.labels
    return any(key in labels for key in MANAGED_SERVICE_LABELS) or labels.get("release") == "istio"


@rule(
    code="MW201",
    name="service-port-protocol",
    kinds={SERVICE},
    default=Action.WARN,
    messages={
        "port-unnamed": "a port with neither a name nor an `appProtocol`",
        "name-without-protocol": "a port whose name does not start with a protocol, without `appProtocol`",
        "app-protocol-unknown": "an `appProtocol` Istio does not recognise, on a port whose name tells no "
        "protocol",
        "name-contradicts-app-protocol": "a port whose name and `appProtocol` declare different protocols",
    },
    fixes={"port-unnamed": Safety.SAFE, "name-without-protocol": Safety.SAFE},
    summary="""
        Checks that every Service port declares its protocol, by `appProtocol` or by a name of the
        form `<protocol>[-<suffix>]` (http, http2, https, grpc, grpc-web, tcp, tls, udp, mongo,
        mysql, redis).
    """,
    why="""
        A port without a declared protocol is sniffed by the sidecar: the first bytes decide
        whether it is HTTP. Server-first protocols (MySQL, SMTP) stall or fall back to plain TCP,
        and HTTP features (retries, routing by path, HTTP metrics) silently stop working when
        detection guesses wrong. When `appProtocol` and the name disagree, Istio uses
        `appProtocol`, which is rarely what the author of the name meant.
    """,
    fix="""
        Name the port `<protocol>[-<suffix>]` (`http-web`, `grpc`, `tcp-db`) or set
        `appProtocol`, with the protocol the port carries now: a protocol word already in its name
        (`jaeger-collector-http` becomes `http-jaeger-collector`) or its well-known number (80 is
        http, 3306 mysql). Choose `tcp` only for ports that carry no HTTP: it turns HTTP routing
        off. UDP ports and Services that Istio manages are exempt.
    """,
    bad="""
        apiVersion: v1
        kind: Service
        metadata:
          name: reviews
        spec:
          selector:
            app: reviews
          ports:
          - port: 9080
    """,
    good="""
        apiVersion: v1
        kind: Service
        metadata:
          name: reviews
        spec:
          selector:
            app: reviews
          ports:
          - name: http
            port: 9080
    """,
)
def service_port_protocol(service: Resource, context: Context) -> Iterator[Violation]:
    if _istio_managed(service):
        return
    for index, port in enumerate(as_list(service.spec.get("ports"))):
        port = as_dict(port)
        if scalar_text(port.get("protocol", "TCP")).upper() == "UDP":
            continue
        path = f"spec.ports[{index}]"
        number = port.get("port")
        shown = scalar_text(number)
        name = scalar_text(port.get("name") or "")
        app_protocol = scalar_text(port.get("appProtocol") or "")
        from_name = protocol_of_name(name) if name else None
        if app_protocol:
            from_app = protocol_of_app_protocol(app_protocol)
            if from_app is None:
                if from_name is None:
                    yield Violation(
                        f"{path}.appProtocol",
                        f'port {shown}: appProtocol "{app_protocol}" is not a protocol Istio recognises, '
                        "so traffic on it is sniffed",
                        f"set appProtocol to one of {', '.join(PROTOCOLS)}",
                        message_id="app-protocol-unknown",
                    )
                continue
            if from_name is not None and from_name != from_app:
                yield Violation(
                    f"{path}.appProtocol",
                    f'port {shown} is named "{name}" ({from_name}) '
                    f'but has appProtocol "{app_protocol}"; '
                    f"Istio uses appProtocol and treats it as {from_app}",
                    f'make them agree: rename the port to "{from_app + "-" + name.split("-", 1)[-1]}" '
                    f'or set appProtocol to "{from_name}"',
                    message_id="name-contradicts-app-protocol",
                )
            continue
        if from_name is not None:
            continue
        if name:
            message = (
                f'port {shown} is named "{name}", which does not start with a protocol, so it is sniffed'
            )
            message_id = "name-without-protocol"
        else:
            message = f"port {shown} has no name and no appProtocol, so its protocol is sniffed"
            message_id = "port-unnamed"
        yield Violation(
            path,
            message,
            _port_name_fix(name, number),
            message_id=message_id,
            autofix=_declare_protocol(index, name, number),
        )


def _declare_protocol(index: int, name: str, number: object) -> Autofix | None:
    """States the protocol the port carries now, when its name or number tells it: a name for an
    unnamed port, else `appProtocol`, since a Service port's name may be referenced elsewhere (an
    Ingress backend's `port.name`, an SRV lookup) and renaming it would break those."""
    protocol = _carried_protocol(name, number)
    if protocol is None:
        return None
    shown = scalar_text(number)
    if name:
        field, title = "appProtocol", f'set appProtocol "{protocol}" on port {shown} ("{name}")'
    else:
        field, title = "name", f'name port {shown} "{protocol}"'
    return Autofix(title, (Edit(("spec", "ports", index, field), None, protocol),), Safety.SAFE)


def _carried_protocol(name: str, number: object) -> str | None:
    """The protocol a word of the port's name or its well-known number says it carries."""
    in_name = protocol_in_name(name) if name else None
    return in_name[0] if in_name else protocol_of_number(number)


def _port_name_fix(name: str, number: object) -> str:
    """A name that declares the protocol the port carries now: a protocol word in its name, else
    its well-known number; when neither tells, the author's choice between http and tcp."""
    in_name = protocol_in_name(name) if name else None
    shown = scalar_text(number)
    protocol = _carried_protocol(name, number)
    if protocol is not None:
        rest = in_name[1] if in_name else name
        renamed = f"{protocol}-{rest}" if rest else protocol
        if name:
            return f'rename port "{name}" to "{renamed}", or set appProtocol: {protocol}'
        return f"add name: {protocol} to the port (or set appProtocol: {protocol})"
    if name:
        told = f'neither the name "{name}" nor port {shown} tells the protocol'
        http, tcp = f'rename the port to "http-{name}"', f'"tcp-{name}"'
    else:
        told = f"neither a name nor port {shown} tells the protocol"
        http, tcp = "add name: http", "name: tcp"
    return (
        f"{told}: {http} if it serves HTTP (what sniffing detects today), otherwise {tcp}, "
        "which would turn HTTP routing off"
    )
