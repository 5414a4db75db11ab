"""MW201 service-port-protocol."""

import pytest

from tests.helpers import only, run


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
    ("ports", "path", "fix_part"),
    [
        ("[{port: 9080}]", "spec.ports[0]", "add name: http to the port"),
        ("[{name: web, port: 443}]", "spec.ports[0]", 'rename port "web" to "https-web"'),
        ("[{name: http2foo, port: 8080}]", "spec.ports[0]", 'rename port "http2foo"'),
        ("[{name: http, port: 80}, {name: db, port: 3306}]", "spec.ports[1]", '"mysql-db"'),
        ("[{name: http, port: 80, appProtocol: tcp}]", "spec.ports[0].appProtocol", "make them agree"),
        ("[{name: web, port: 80, appProtocol: hbone}]", "spec.ports[0].appProtocol", "set appProtocol"),
    ],
)
def test_undeclared_protocols_are_found(ports: str, path: str, fix_part: str) -> None:
    findings = only(run(service(ports)), "MW201")
    assert [f.path for f in findings] == [path]
    assert fix_part in findings[0].fix
    assert findings[0].action == "warn"


@pytest.mark.parametrize("labels", ["istio: ingressgateway", "release: istio", "gateway.istio.io/managed: x"])
def test_istio_managed_services_are_exempt(labels: str) -> None:
    assert only(run(service("[{port: 80}]", labels)), "MW201") == []


def test_release_other_than_istio_is_not_exempt() -> None:
    assert len(only(run(service("[{port: 80}]", "release: shop")), "MW201")) == 1
