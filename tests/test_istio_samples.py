"""Istio's own samples (copies in tests/istio_samples, with Istio's licence) give exactly the findings
an Istio expert would agree with: each file is checked on its own, as a user would apply it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from webhook.commands import main

SAMPLES = Path(__file__).resolve().parent / "istio_samples"

# file -> the findings it must give: (code, action, kind, namespace/name)
EXPECTED: dict[str, list[tuple[str, str, str, str]]] = {
    # skywalking-ui opts out with the deprecated annotation: out of the mesh (no MW101), but the
    # annotation itself is worth a warning.
    "addons/extras/skywalking.yaml": [("MW104", "warn", "Deployment", "istio-system/skywalking-ui")],
    # loki runs in the root namespace, which nobody labels for injection.
    "addons/loki.yaml": [],
    # Port 80 is the only HTTP port of the ServiceEntry and the only http route matches it; SIMPLE
    # TLS without caCertificates is verified against the OS trust store only.
    "bookinfo/networking/egress-rule-google-apis.yaml": [
        ("MW502", "warn", "DestinationRule", "default/originate-tls-for-googleapis")
    ],
}


@pytest.mark.parametrize("sample", sorted(EXPECTED))
def test_sample_gives_only_the_expected_findings(sample: str, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["check", "--format", "json", "--fail-on", "never", str(SAMPLES / sample)])
    report = json.loads(capsys.readouterr().out)
    assert (status, report["errors"]) == (0, [])
    found = [
        (f["code"], f["action"], f["object"]["kind"], f"{f['object']['namespace']}/{f['object']['name']}")
        for f in report["findings"]
    ]
    assert sorted(found) == sorted(EXPECTED[sample])


def test_every_sample_copy_is_listed() -> None:
    copies = {str(p.relative_to(SAMPLES)) for p in SAMPLES.rglob("*.yaml")}
    assert copies == set(EXPECTED)
