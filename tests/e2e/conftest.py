"""The servers the end-to-end tests talk to, and the TLS material they serve."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Certs, Server, make_certs, start_server

POLICY = """\
profile: default
exemptNamespaces: [kube-system, kube-public, kube-node-lease, "legacy-*"]
namespaces:
  - match: "audit-*"
    profile: audit
"""

CONTEXT = """\
apiVersion: v1
kind: Namespace
metadata:
  name: bookinfo
  labels: {istio-injection: enabled}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: bookinfo-gateway
  namespace: istio-system
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
---
apiVersion: v1
kind: Service
metadata:
  name: reviews
  namespace: bookinfo
spec:
  selector: {app: reviews}
  ports:
  - {name: http, port: 9080}
"""


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="session")
def server(certs: Certs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The server most tests share: a policy file, and a cluster dump as context."""
    directory = tmp_path_factory.mktemp("server")
    (directory / "policy.yaml").write_text(POLICY)
    (directory / "context.yaml").write_text(CONTEXT)
    running = start_server(
        certs,
        directory / "server.log",
        [
            "--config",
            str(directory / "policy.yaml"),
            "--context",
            str(directory / "context.yaml"),
        ],
    )
    yield running
    running.stop()


@pytest.fixture
def bare_server(certs: Certs, tmp_path: Path) -> Iterator[Server]:
    """A server of its own, with no policy file and no inventory."""
    running = start_server(certs, tmp_path / "server.log")
    yield running
    running.stop()
