"""`meshwarden check`, `rules` and `explain` as a user runs them."""

import json
import os
import pty
import select
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from webhook.commands import main

BAD_SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  ports:
  - port: 8080
"""
GOOD_SERVICE = BAD_SERVICE.replace("- port: 8080", "- name: http\n    port: 8080")
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_text_output_points_at_the_field_and_gives_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "svc.yaml", CONFIGMAP + "---\n" + BAD_SERVICE)
    code, out, _ = run_cli(capsys, "check", path, "--fail-on", "warn")
    assert code == 1
    first, fix, summary, fixable = out.splitlines()
    assert first.startswith(
        f"{path}:12: warn MW201 [*] Service shop/web spec.ports[0]: port 8080 has no name"
    )
    assert fix.strip().startswith("fix: add name: http")
    assert summary == "1 object checked, 0 deny, 1 warn, 0 suppressed, 1 skipped (ConfigMap 1)"
    assert fixable == "[*] 1 fixable with `meshwarden fix`"
    assert "\033[" not in out


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit"])
def test_exit_codes_are_the_same_for_every_format(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path, "bad.yaml", BAD_SERVICE)
    good = write(tmp_path, "good.yaml", GOOD_SERVICE)
    broken = write(tmp_path, "broken.yaml", "a: [")
    assert run_cli(capsys, "check", "--format", fmt, good)[0] == 0
    assert run_cli(capsys, "check", "--format", fmt, bad)[0] == 0  # warn is below the default --fail-on deny
    assert run_cli(capsys, "check", "--format", fmt, "--fail-on", "warn", bad)[0] == 1
    assert run_cli(capsys, "check", "--format", fmt, "--fail-on", "never", bad)[0] == 0
    assert run_cli(capsys, "check", "--format", fmt, "--profile", "strict", bad)[0] == 1
    assert run_cli(capsys, "check", "--format", fmt, bad, broken)[0] == 2
    assert run_cli(capsys, "check", "--format", fmt, str(tmp_path / "missing.yaml"))[0] == 2


def test_json_report_shape_and_errors_beside_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path, "all.yaml", BAD_SERVICE + "---\nkind: Service\n---\n" + BAD_SERVICE.replace("web", "api")
    )
    code, out, err = run_cli(capsys, "check", "--format", "json", path)
    report = json.loads(out)
    assert code == 2
    assert [f["object"]["name"] for f in report["findings"]] == ["web", "api"]
    finding = report["findings"][0]
    assert set(finding) == {
        "code",
        "messageId",
        "rule",
        "action",
        "suppressed",
        "object",
        "path",
        "message",
        "fix",
        "docs",
        "file",
        "line",
        "notes",
        "autofix",
    }
    assert (finding["code"], finding["messageId"]) == ("MW201", "MW201/port-unnamed")
    assert finding["object"] == {"apiVersion": "v1", "kind": "Service", "namespace": "shop", "name": "web"}
    assert (finding["file"], finding["line"], finding["path"]) == (path, 8, "spec.ports[0]")
    assert finding["docs"].endswith("#mw201-service-port-protocol")
    assert report["errors"] == [
        {"file": path, "line": 10, "message": "not a Kubernetes object: missing 'apiVersion'"}
    ]
    assert report["summary"] == {
        "objects": 2,
        "deny": 0,
        "warn": 2,
        "suppressed": 0,
        "skipped": 0,
        "skippedKinds": {},
        "skippedFiles": 0,
        "replaced": 0,
        "fixable": {"safe": 2, "unsafe": 0},
    }
    assert f"{path}:10: not a Kubernetes object" in err


def test_suppressed_findings_stay_visible_in_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "svc.yaml", BAD_SERVICE)
    code, out, _ = run_cli(
        capsys, "check", "--format", "json", "--fail-on", "warn", "--suppress", "MW201=Service/shop/w*", path
    )
    report = json.loads(out)
    assert code == 0
    assert report["findings"][0]["suppressed"] is True
    assert report["summary"]["suppressed"] == 1 and report["summary"]["warn"] == 0


def test_directories_are_read_recursively_and_sorted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "b/svc.yml", BAD_SERVICE)
    write(
        tmp_path,
        "a/svc.json",
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "j"},
                "spec": {"ports": [{"port": 80}]},
            }
        ),
    )
    write(tmp_path, "notes.txt", "not a manifest")
    _, out, _ = run_cli(capsys, "check", "--format", "json", str(tmp_path))
    assert [Path(f["file"]).name for f in json.loads(out)["findings"]] == ["svc.json", "svc.yml"]


def test_context_objects_are_not_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    context = write(tmp_path, "dump.yaml", BAD_SERVICE)
    target = write(tmp_path, "good.yaml", GOOD_SERVICE.replace("web", "other"))
    _, out, _ = run_cli(capsys, "check", "--format", "json", "--context", context, target)
    assert json.loads(out)["findings"] == []


ROUTE_TO_WEB = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: shop}
spec:
  hosts: [web]
  http:
  - route:
    - destination: {host: web}
"""


def _unknown_hosts(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    _, out, _ = run_cli(capsys, "check", "--format", "json", "--fail-on", "never", *args)
    return [f["messageId"] for f in json.loads(out)["findings"] if f["messageId"] == "MW308/host-unknown"]


def test_the_objects_of_a_file_skipped_after_reading_are_not_in_the_inventory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "app/route.yaml", ROUTE_TO_WEB)
    assert _unknown_hosts(capsys, str(tmp_path)) == ["MW308/host-unknown"]
    write(tmp_path, "app/web.yaml", GOOD_SERVICE)
    assert _unknown_hosts(capsys, str(tmp_path)) == []
    # Another tool's YAML tag after the Service: the walk skips the file, Service and all.
    write(tmp_path, "app/web.yaml", GOOD_SERVICE + "---\nvalue: !Sub x\n")
    assert _unknown_hosts(capsys, str(tmp_path)) == ["MW308/host-unknown"]


def test_sarif_and_junit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "svc.yaml", BAD_SERVICE + "---\n" + GOOD_SERVICE.replace("web", "ok"))
    _, out, _ = run_cli(capsys, "check", "--format", "sarif", path)
    sarif = json.loads(out)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    result = run["results"][0]
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "MW201"
    assert (result["ruleId"], result["properties"]["messageId"]) == ("MW201", "MW201/port-unnamed")
    assert result["level"] == "warning"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 8
    _, out, _ = run_cli(capsys, "check", "--format", "junit", "--fail-on", "warn", path)
    suite = ET.fromstring(out).find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    cases = {c.get("name"): c.find("failure") is not None for c in suite.iter("testcase")}
    assert cases == {"shop/web": True, "shop/ok": False}


def test_bad_policy_and_bad_suppress_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write(tmp_path, "policy.yaml", "rules: {MW201: dney}\n")
    svc = write(tmp_path, "svc.yaml", BAD_SERVICE)
    code, out, err = run_cli(capsys, "check", "--config", policy, svc)
    assert code == 2 and out == ""
    assert "rules.MW201: 'dney' is not one of deny, warn, off" in err
    code, _, err = run_cli(capsys, "check", "--suppress", "MW999", svc)
    assert code == 2 and "MW999" in err


def test_stdin_and_colour_on_request() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "webhook", "check", "-", "--color", "always", "--fail-on", "warn"],
        input=BAD_SERVICE,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout.startswith("-:8: \033[1;33mwarn\033[0m \033[1mMW201\033[0m [*] Service shop/web")


def test_the_program_writes_its_whole_report_and_exit_code_before_it_ends(tmp_path: Path) -> None:
    """`meshwarden check` ends its process without freeing what it read: the report, larger than a
    pipe holds, and the input error on stderr still arrive whole, with the input error's exit code."""
    services = "---\n".join(BAD_SERVICE.replace("name: web", f"name: web-{i}") for i in range(300))
    write(tmp_path, "services.yaml", services)
    write(tmp_path, "broken.yaml", "apiVersion: v1\nkind: Service\nmetadata: [\n")
    result = subprocess.run(
        [sys.executable, "-m", "webhook", "check", "--format", "json", str(tmp_path)],
        capture_output=True,
        check=False,
    )
    report = json.loads(result.stdout)
    assert len(result.stdout) > 1 << 16
    assert result.returncode == 2
    assert {f["object"]["name"] for f in report["findings"]} == {f"web-{i}" for i in range(300)}
    assert f"{tmp_path / 'broken.yaml'}:3:" in result.stderr.decode()


def test_rules_and_explain(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "rules")
    assert code == 0 and "\nMW201  service-port-protocol" in out
    code, out, _ = run_cli(capsys, "explain", "service-port-protocol")
    assert code == 0
    for section in (
        "# MW201 service-port-protocol",
        "### What it does",
        "### Why is this bad?",
        "### How to fix",
        "### Messages",
        "- `MW201/port-unnamed`: a port with neither a name nor an `appProtocol`",
        "### Example",
        "Use instead:",
    ):
        assert section in out
    assert run_cli(capsys, "explain", "MW999")[0] == 2


def test_rules_as_json_list_each_rules_messages(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "rules", "--format", "json")
    mw309 = next(r for r in json.loads(out) if r["code"] == "MW309")
    assert code == 0 and len(mw309["messages"]) == 10
    assert {key: value for key, value in mw309["messages"][0].items() if key != "fix"} == {
        "id": "MW309/not-a-duration",
        "description": "a `timeout`, `retries.perTryTimeout` or `fault.delay.fixedDelay` that is not a "
        "Go-style duration",
    }
    mw201 = next(r for r in json.loads(out) if r["code"] == "MW201")
    assert [m["fix"] for m in mw201["messages"]] == ["safe", "safe", None, None]


def on_terminal(*args: str, env: dict[str, str] | None = None, stderr: bool = False) -> str:
    """What `meshwarden ARGS` prints with a terminal as its standard output (and, with `stderr`,
    as its standard error too)."""
    primary, secondary = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | (env or {})
    with subprocess.Popen(
        [sys.executable, "-m", "webhook", *args],
        stdout=secondary,
        stderr=secondary if stderr else subprocess.DEVNULL,
        env=environment,
    ) as process:
        os.close(secondary)
        chunks = []
        while select.select([primary], [], [], 60)[0]:
            try:
                data = os.read(primary, 65536)
            except OSError:  # EIO: the other end of the terminal is closed
                break
            if not data:
                break
            chunks.append(data)
        process.wait(timeout=60)
    os.close(primary)
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_no_color_is_honoured_on_a_terminal(tmp_path: Path) -> None:
    path = write(tmp_path, "svc.yaml", BAD_SERVICE)
    assert "\033[1;33mwarn" in on_terminal("check", path)
    assert "\033[" not in on_terminal("check", path, env={"NO_COLOR": "1"})
    assert "\033[1;33mwarn" in on_terminal("check", "--color", "always", path, env={"NO_COLOR": "1"})


def test_a_large_input_shows_its_progress_on_a_terminal_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    services = "".join(
        f"---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s{n}\nspec:\n  ports:\n  - name: http\n"
        "    port: 80\n"
        for n in range(2_500)
    )
    path = write(tmp_path, "services.yaml", services)
    shown = on_terminal("check", path, stderr=True)
    assert "\rread 2000 objects\rread 2500 objects\n" in shown
    assert "\rchecked 2000/2500 objects\n" in shown
    code, _, err = run_cli(capsys, "check", path)
    assert code == 0 and "read 2000" not in err and "checked 2000" not in err


def test_explain_prints_plain_text_on_a_terminal_and_markdown_otherwise(
    capsys: pytest.CaptureFixture[str],
) -> None:
    plain = on_terminal("explain", "MW305")
    assert plain.startswith("MW305 vs-subset-undefined\n\nDefault: deny · Kinds: VirtualService")
    assert "\nWhat it does\n" in plain and "\n    apiVersion: networking.istio.io/v1\n" in plain
    for marker in ("**", "```", "### ", "`"):
        assert marker not in plain
    main(["explain", "MW305"])
    assert capsys.readouterr().out.startswith("# MW305 vs-subset-undefined\n\nDefault: **deny**")


def test_rules_has_a_header_row(capsys: pytest.CaptureFixture[str]) -> None:
    main(["rules"])
    header, first, *_ = capsys.readouterr().out.splitlines()
    assert header.split() == ["CODE", "NAME", "DEFAULT", "CROSS", "KINDS"]
    assert first.startswith("MW")


def test_a_missing_path_is_reported_without_a_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "nope.yaml")
    code, out, err = run_cli(capsys, "check", "--format", "json", missing)
    assert code == 2
    assert err == f"{missing}: no such file or directory\n"
    assert json.loads(out)["errors"] == [
        {"file": missing, "line": None, "message": "no such file or directory"}
    ]


def test_the_summary_names_the_skipped_kinds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    route = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: r{}}}\n---\n"
    filter_ = "apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata: {{name: f{}}}\n---\n"
    text = "".join(route.format(i) for i in range(14)) + "".join(filter_.format(i) for i in range(3))
    path = write(tmp_path, "other.yaml", text + GOOD_SERVICE)
    _, out, _ = run_cli(capsys, "check", path)
    assert (
        out.splitlines()[-1]
        == "1 object checked, 0 deny, 0 warn, 0 suppressed, 17 skipped (HTTPRoute 14, EnvoyFilter 3)"
    )
    _, out, _ = run_cli(capsys, "check", "--format", "json", path)
    assert json.loads(out)["summary"]["skippedKinds"] == {"HTTPRoute": 14, "EnvoyFilter": 3}


def test_partial_drops_only_the_findings_that_rest_on_an_absence(capsys: pytest.CaptureFixture[str]) -> None:
    bookinfo = str(Path(__file__).parent.parent / "examples" / "bookinfo")
    _, whole, _ = run_cli(capsys, "check", "--format", "json", bookinfo)
    code, out, err = run_cli(capsys, "check", "--partial", "--format", "json", bookinfo)
    report = json.loads(out)
    assert sorted(f["code"] for f in json.loads(whole)["findings"]) == ["MW201", "MW301", "MW304", "MW305"]
    # the bare gateway name rests on the absence of bookinfo/bookinfo-gateway; the DestinationRule
    # that lacks subset v2 is in the inputs
    assert sorted(f["code"] for f in report["findings"]) == ["MW201", "MW304", "MW305"]
    assert report["summary"]["dropped"] == 1
    assert "1 finding(s) left out (--partial)" in err
    assert code == 1


def test_partial_drops_a_subset_finding_when_no_destination_rule_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vs = write(
        tmp_path,
        "vs.yaml",
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r, namespace: shop}\n"
        "spec:\n  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v2}\n",
    )
    _, whole, _ = run_cli(capsys, "check", "--format", "json", vs)
    _, partial, _ = run_cli(capsys, "check", "--partial", "--format", "json", vs)
    assert "MW305" in [f["code"] for f in json.loads(whole)["findings"]]
    assert "MW305" not in [f["code"] for f in json.loads(partial)["findings"]]
