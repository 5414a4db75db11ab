"""Where the API's address and credentials come from."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cluster.fakeapi import FakeApi
from webhook.cluster import open_api
from webhook.cluster.config import KubeconfigError


def test_an_unknown_context_is_a_configuration_error(fake: FakeApi, tmp_path: Path) -> None:
    kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")
    with pytest.raises(KubeconfigError, match="missing"):
        open_api(str(kubeconfig), "missing")


def test_in_a_pod_without_a_service_account_token_it_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    with pytest.raises(KubeconfigError, match="token"):
        open_api()
