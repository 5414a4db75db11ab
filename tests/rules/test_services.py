"""MW201 service-port-protocol."""

import pytest

from tests.helpers import only, run, said


def service(ports: str, labels: str = "app: web") -> str:
    return f"""
        apiVersion: v1
        kind: Service
        metadata:
          name: web
          labels: {{{labels}}}
        spec:
          selector: {{app: web}}
          ports: {ports}
    """


@pytest.mark.parametrize(
    "ports",
    [
        "[{name: http, port: 80}]",
        "[{name: HTTP2-x, port: 80}]",
        "[{name: grpc-web, port: 80}]",
        "[{name: grpc-web-ui, port: 80}]",
        "[{name: tcp-db, port: 5432}]",
        "[{name: web, port: 80, appProtocol: http}]",
        "[{port: 80, appProtocol: kubernetes.io/h2c}]",
        "[{port: 53, protocol: UDP}]",
        "[{name: dns, port: 53, protocol: UDP}]",
    ],
)
def test_declared_protocols_pass(ports: str) -> None:
    assert only(run(service(ports)), "MW201") == []


@pytest.mark.parametrize(
    ("ports", "message_id", "path", "fix_part"),
    [
        ("[{port: 9080}]", "port-unnamed", "spec.ports[0]", "add name: http to the port"),
        (
            "[{name: web, port: 443}]",
            "name-without-protocol",
            "spec.ports[0]",
            'rename port "web" to "https-web"',
        ),
        (
            "[{name: http2foo, port: 8080}]",
            "name-without-protocol",
            "spec.ports[0]",
            'rename port "http2foo"',
        ),
        (
            "[{name: http, port: 80}, {name: db, port: 3306}]",
            "name-without-protocol",
            "spec.ports[1]",
            '"mysql-db"',
        ),
        (
            "[{name: http, port: 80, appProtocol: tcp}]",
            "name-contradicts-app-protocol",
            "spec.ports[0].appProtocol",
            'rename the port to "tcp-http" or set appProtocol to "http"',
        ),
        (
            "[{name: web, port: 80, appProtocol: hbone}]",
            "app-protocol-unknown",
            "spec.ports[0].appProtocol",
            "set appProtocol",
        ),
    ],
)
def test_undeclared_protocols_are_found(ports: str, message_id: str, path: str, fix_part: str) -> None:
    findings = only(run(service(ports)), "MW201")
    assert said(findings) == [(f"MW201/{message_id}", path)]
    assert fix_part in findings[0].fix
    assert findings[0].action == "warn"


@pytest.mark.parametrize(
    ("ports", "renamed"),
    [
        ("[{name: jaeger-collector-http, port: 14268}]", "http-jaeger-collector"),
        ("[{name: collector-grpc, port: 14250}]", "grpc-collector"),
        ("[{name: Collector-GRPC, port: 14250}]", "grpc-Collector"),
        ("[{name: ui-grpc-web, port: 8081}]", "grpc-web-ui"),
        ("[{name: admin-http2-x, port: 9901}]", "http2-admin-x"),
        ("[{name: cache, port: 6379}]", "redis-cache"),
        ("[{name: web, port: 8080}]", "http-web"),
        ("[{name: store, port: 27017}]", "mongo-store"),
        ("[{name: api, port: 50051}]", "grpc-api"),
    ],
)
def test_fix_keeps_the_protocol_the_port_carries(ports: str, renamed: str) -> None:
    fix = only(run(service(ports)), "MW201")[0].fix
    assert f'to "{renamed}"' in fix
    assert "tcp" not in fix


@pytest.mark.parametrize(
    ("ports", "choices"),
    [
        ("[{name: service, port: 3000}]", ['"http-service"', '"tcp-service"']),
        ("[{name: httpd-admin, port: 9000}]", ['"http-httpd-admin"', '"tcp-httpd-admin"']),
        ("[{port: 3000}]", ["name: http", "name: tcp"]),
    ],
)
def test_fix_offers_a_choice_when_nothing_tells_the_protocol(ports: str, choices: list[str]) -> None:
    finding = only(run(service(ports)), "MW201")[0]
    assert all(choice in finding.fix for choice in choices)
    assert "turn HTTP routing off" in finding.fix
    assert "neither" in finding.fix


@pytest.mark.parametrize("labels", ["istio: ingressgateway", "release: istio", "gateway.istio.io/managed: x"])
def test_istio_managed_services_are_exempt(labels: str) -> None:
    assert only(run(service("[{port: 80}]", labels)), "MW201") == []


def test_release_other_than_istio_is_not_exempt() -> None:
    assert said(run(service("[{port: 80}]", "release: shop")), "MW201") == [
        ("MW201/port-unnamed", "spec.ports[0]")
    ]
