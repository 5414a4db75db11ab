"""`meshwarden certs` and the start-up of `meshwarden serve`, as a user runs them."""

from __future__ import annotations

import base64
import http.client
import os
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.e2e.harness import Certs, Reply, free_port, send, start_server
from tests.e2e.reviews import EXAMPLES, review, virtual_service
from tests.polling import wait_for


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "webhook", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=60
    )


def test_certs_writes_a_ca_and_a_serving_certificate_and_prints_the_ca_bundle(certs: Certs) -> None:
    assert base64.b64decode(certs.ca_bundle) == certs.ca.read_bytes()
    assert certs.key.stat().st_mode & 0o777 == 0o600
    ca = x509.load_pem_x509_certificate(certs.ca.read_bytes())
    leaf = x509.load_pem_x509_certificate(certs.cert.read_bytes())
    leaf.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature is True
    usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH]


def test_certs_overwrites_an_existing_key_with_mode_0600(tmp_path: Path) -> None:
    (tmp_path / "tls.key").write_text("old")
    (tmp_path / "tls.key").chmod(0o644)
    assert run("certs", "--service", "hook", "--namespace", "tools", "--out", str(tmp_path)).returncode == 0
    assert (tmp_path / "tls.key").stat().st_mode & 0o777 == 0o600
    leaf = x509.load_pem_x509_certificate((tmp_path / "tls.crt").read_bytes())
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [
        "hook",
        "hook.tools",
        "hook.tools.svc",
        "hook.tools.svc.cluster.local",
    ]


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ([], "--cert and --key are required"),
        (["--cert", "tls.crt"], "--cert and --key go together"),
        (["--cert", "missing.crt", "--key", "missing.key"], "cannot use --cert/--key"),
        (["--config", "bad-policy.yaml"], "rulez: unknown key"),
        (["--context", "bad-context.yaml"], "bad-context.yaml:1: not a Kubernetes object"),
        (["--kubeconfig", "missing-kubeconfig"], "no usable Kubernetes configuration"),
        (["--context", "dump.yaml", "--kube-context", "prod"], "--context replaces the live cluster"),
        (["--no-cluster", "--kubeconfig", "kubeconfig"], "--no-cluster contradicts"),
    ],
)
def test_serve_refuses_to_start_with_a_clear_error(
    certs: Certs, tmp_path: Path, args: list[str], problem: str
) -> None:
    (tmp_path / "bad-policy.yaml").write_text("rulez: {}\n")
    (tmp_path / "bad-context.yaml").write_text("just a string\n")
    given = (
        args if not args or "--cert" in args else ["--cert", str(certs.cert), "--key", str(certs.key), *args]
    )
    done = run("serve", "--port", str(free_port()), *given, cwd=tmp_path)
    assert done.returncode == 2
    assert problem in done.stderr


def test_serve_in_a_pod_watches_the_cluster_through_its_service_account(certs: Certs) -> None:
    """The kubelet sets KUBERNETES_SERVICE_HOST in every container; here the port is missing, so the
    in-cluster configuration is incomplete and the server refuses to start."""
    pod = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_SERVICE_")}
    pod["KUBERNETES_SERVICE_HOST"] = "10.96.0.1"
    given = ["--cert", str(certs.cert), "--key", str(certs.key), "--port", str(free_port())]
    done = run("serve", *given, env=pod)
    assert done.returncode == 2
    assert "no usable Kubernetes configuration: Service host/port is not set" in done.stderr


def test_serve_in_a_pod_with_no_cluster_skips_cross_checks_and_says_so(certs: Certs, tmp_path: Path) -> None:
    server = start_server(
        certs, tmp_path / "server.log", ["--no-cluster"], environment={"KUBERNETES_SERVICE_HOST": "10.96.0.1"}
    )
    try:
        vs = virtual_service({"hosts": ["reviews"], "gateways": ["nowhere"], "http": [{"route": []}]})
        warnings = server.review(review(vs)).response["warnings"]
    finally:
        server.stop()
    assert [w for w in warnings if "cross-object checks skipped" in w] == [
        "cross-object checks skipped: the server has no inventory (no --context and no cluster access)"
    ]
    [choice] = [line for line in server.log_lines() if line.get("inventory")]
    assert (choice["inventory"], choice["level"], choice["workers"], choice["threads"]) == (
        "none",
        "warning",
        2,
        8,
    )


def test_serve_dev_creates_a_throwaway_certificate_for_localhost_and_denies_the_example(
    tmp_path: Path,
) -> None:
    """What `make serve` and the README's curl do."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "webhook", "serve", "--dev", "--port", str(port), "--drain-seconds", "0"],
            cwd=tmp_path,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    replies: list[Reply] = []

    def answered() -> bool:
        assert process.poll() is None, log.read_text()
        if not (tmp_path / "certs/dev/ca.crt").exists():
            return False
        context = ssl.create_default_context(cafile=str(tmp_path / "certs/dev/ca.crt"))
        connection = http.client.HTTPSConnection("localhost", port, context=context, timeout=10)
        try:
            replies.append(
                send(connection, "POST", "/validate", (EXAMPLES / "review-pod-deny.json").read_bytes())
            )
        except ConnectionRefusedError:
            return False
        finally:
            connection.close()
        return True

    try:
        wait_for(answered, "the dev server", timeout=60)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
    assert "throwaway CA and certificate for localhost in certs/dev/" in log.read_text()
    response = replies[0].json["response"]
    assert response["allowed"] is False
    assert "MW101" in response["status"]["message"]
