"""`meshwarden check` loads what checking needs and nothing of the server, TLS or the cluster:
each command runs in a fresh interpreter, which then names the modules it loaded."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_cli import BAD_SERVICE

LOADED_AFTER = """
import json, sys
from webhook.commands import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""
SERVER_AND_CLUSTER = (
    "webhook.server",
    "webhook.cluster",
    "webhook.certs",
    "ssl",
    "cryptography",
    "flask",
    "werkzeug",
    "gunicorn",
    "kubernetes",
    "urllib3",
    "prometheus_client",
)


def loaded(*args: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", LOADED_AFTER, *args], capture_output=True, text=True, timeout=60, check=True
    )
    return set(json.loads(result.stderr.splitlines()[-1]))


def of_server_or_cluster(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.startswith(SERVER_AND_CLUSTER))


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit"])
def test_check_loads_no_server_tls_or_cluster_module(fmt: str, tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "svc.yaml").write_text(BAD_SERVICE)
    (tmp_path / "named.yaml").write_text(BAD_SERVICE)
    modules = loaded("check", "--format", fmt, str(tmp_path / "named.yaml"), str(tmp_path / "repo"))
    assert "webhook.engine" in modules
    assert of_server_or_cluster(modules) == []


def test_rules_and_explain_load_no_server_tls_or_cluster_module() -> None:
    assert of_server_or_cluster(loaded("rules")) == []
    assert of_server_or_cluster(loaded("explain", "MW201")) == []


def test_serve_and_certs_load_their_modules_when_they_run() -> None:
    assert "webhook.server.serve" in loaded("serve", "--help")
    assert "webhook.certs" in loaded("certs", "--help")


def test_each_format_loads_its_own_writer_only(tmp_path: Path) -> None:
    (tmp_path / "svc.yaml").write_text(BAD_SERVICE)
    text = loaded("check", "--format", "text", str(tmp_path / "svc.yaml"))
    assert "orjson" not in text and "xml.etree.ElementTree" not in text
    assert "orjson" in loaded("check", "--format", "sarif", str(tmp_path / "svc.yaml"))
    assert "xml.etree.ElementTree" in loaded("check", "--format", "junit", str(tmp_path / "svc.yaml"))


@pytest.mark.parametrize("fmt", ["text", "json", "junit"])
def test_check_loads_the_file_editor_only_for_sarif(fmt: str, tmp_path: Path) -> None:
    """The editor places SARIF's replacements; other formats carry fixes as edits, not text."""
    (tmp_path / "svc.yaml").write_text(BAD_SERVICE)
    assert not {"webhook.editor", "webhook.fixing"} & loaded(
        "check", "--format", fmt, str(tmp_path / "svc.yaml")
    )
    assert "webhook.editor" in loaded("check", "--format", "sarif", str(tmp_path / "svc.yaml"))
