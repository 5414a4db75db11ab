"""The policy file: strict validation, profiles, per-rule and per-namespace actions."""

from pathlib import Path

import pytest

from webhook.commands import main
from webhook.findings import Action
from webhook.policy import (
    MAX_POLICY_BYTES,
    NEWEST_ISTIO,
    Policy,
    PolicyError,
    Profile,
    load_policy,
    parse_policy,
)
from webhook.rules import CATALOGUE

MW201 = CATALOGUE.find("MW201")
assert MW201 is not None


def action(policy: Policy, namespace: str = "default") -> Action:
    assert MW201 is not None
    return policy.resolve(MW201, namespace).action


def test_empty_policy_is_the_default() -> None:
    policy = parse_policy("", CATALOGUE)
    assert policy.profile is Profile.DEFAULT
    assert action(policy) is Action.WARN
    assert policy.is_exempt("kube-system") and not policy.is_exempt("default")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("profile: strict", Action.DENY),
        ("profile: audit", Action.WARN),
        ("rules: {MW201: deny}", Action.DENY),
        ("rules: {service-port-protocol: 'off'}", Action.OFF),
        ("rules: {MW201: off}", Action.OFF),  # YAML 1.1 reads a bare off as false
        ("profile: strict\nrules: {MW201: warn}", Action.WARN),
        ("rules: {MW201: {action: deny}}", Action.DENY),
    ],
)
def test_rule_actions(text: str, expected: Action) -> None:
    assert action(parse_policy(text, CATALOGUE)) is expected


def test_namespace_overrides_by_glob() -> None:
    policy = parse_policy(
        "rules: {MW201: deny}\n"
        "namespaces:\n"
        "- {match: 'legacy-*', rules: {MW201: 'off'}}\n"
        "- {match: 'team-*', profile: strict}\n",
        CATALOGUE,
    )
    assert action(policy, "legacy-billing") is Action.OFF
    assert action(policy, "shop") is Action.DENY
    assert action(policy, "team-a") is Action.DENY
    audit = parse_policy("profile: strict\nnamespaces: [{match: 'sandbox*', profile: audit}]", CATALOGUE)
    assert action(audit, "sandbox-1") is Action.WARN
    assert action(audit, "shop") is Action.DENY


def test_exempt_namespaces_replace_the_defaults() -> None:
    policy = parse_policy("exemptNamespaces: [ops-*]", CATALOGUE)
    assert policy.is_exempt("ops-tools") and not policy.is_exempt("kube-system")


def test_mesh_facts() -> None:
    policy = parse_policy("mesh: {mtls: STRICT, probeRewrite: false, rootNamespace: mesh-root}", CATALOGUE)
    assert policy.mesh.mtls == "STRICT" and policy.mesh.probe_rewrite is False
    assert policy.mesh.root_namespace == "mesh-root" and policy.mesh.assume_injected is True


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("", NEWEST_ISTIO),
        ("mesh: {istioVersion: '1.19'}", (1, 19)),
        ("mesh: {istioVersion: '1.22.3'}", (1, 22)),
    ],
)
def test_istio_version(text: str, version: tuple[int, int]) -> None:
    assert parse_policy(text, CATALOGUE).mesh.istio_version == version


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (
            "mesh: {istioVersion: 1.20}",
            "mesh.istioVersion: 1.2 is a number; write the version as a quoted string",
        ),
        ("mesh: {istioVersion: '1.x'}", "mesh.istioVersion: '1.x' is not an Istio version"),
        ("mesh: {istioVersion: '2.1'}", "mesh.istioVersion: '2.1' is not an Istio version"),
        ("mesh: {istioVersion: ''}", "mesh.istioVersion: '' is not an Istio version"),
        ("mesh: {istioVersion: null}", "mesh.istioVersion: None is not an Istio version"),
        ("profle: strict", "profle: unknown key"),
        ("profile: paranoid", "profile: 'paranoid' is not one of default, strict, audit"),
        ("rules: {MW999: deny}", "rules.MW999: no rule has this code or name"),
        ("rules: {MW201: dney}", "rules.MW201: 'dney' is not one of deny, warn, off"),
        ("rules: {MW201: {action: deny, option: {}}}", "rules.MW201.option: unknown key"),
        ("rules: {MW201: {options: {x: 1}}}", "rules.MW201.options: rule MW201 has no options"),
        ("mesh: {mtls: strict}", "mesh.mtls: 'strict' is not one of STRICT, PERMISSIVE, unknown"),
        ("mesh: {probeRewrite: 'yes'}", "mesh.probeRewrite: expected true or false"),
        ("mesh: {assumeInjectd: true}", "mesh.assumeInjectd: unknown key"),
        ("namespaces: [{match: 'a*', profil: audit}]", "namespaces[0].profil: unknown key"),
        ("namespaces: [{profile: audit}]", "namespaces[0].match: expected a non-empty string"),
        ("exemptNamespaces: kube-system", "exemptNamespaces: expected a list"),
        ("ingressNginx: {meshed: 1}", "ingressNginx.meshed: expected true or false"),
        ("- a\n- b", "(top level): expected a mapping"),
        ("rules: [", "YAML syntax error"),
    ],
)
def test_bad_policies_name_the_key(text: str, named: str) -> None:
    with pytest.raises(PolicyError) as raised:
        parse_policy(text, CATALOGUE, "policy.yaml")
    assert str(raised.value).startswith("policy.yaml")
    assert named in str(raised.value)


def test_every_problem_is_reported_at_once_with_its_line_and_a_did_you_mean() -> None:
    text = (
        "profle: strict\n"
        "rules:\n"
        "  service-port-protocl: warn\n"
        "  MW2O1: deny\n"
        "  MW301: dney\n"
        "mesh:\n"
        "  mtls: strict\n"
        "  asumeInjected: false\n"
        "namespaces:\n"
        "- {match: 'legacy-*', profil: audit}\n"
    )
    with pytest.raises(PolicyError) as raised:
        parse_policy(text, CATALOGUE, "policy.yaml")
    assert str(raised.value).splitlines() == [
        "policy.yaml: 7 problems:",
        "policy.yaml:1: profle: unknown key; did you mean 'profile'? (expected one of exemptNamespaces, "
        "gateways, ingressNginx, mesh, namespaces, profile, rules)",
        "policy.yaml:3: rules.service-port-protocl: no rule has this code or name; "
        "did you mean 'service-port-protocol'? (see `meshwarden rules`)",
        "policy.yaml:4: rules.MW2O1: no rule has this code or name; did you mean 'MW201'? "
        "(see `meshwarden rules`)",
        "policy.yaml:5: rules.MW301: 'dney' is not one of deny, warn, off; did you mean 'deny'?",
        "policy.yaml:7: mesh.mtls: 'strict' is not one of STRICT, PERMISSIVE, unknown; "
        "did you mean 'STRICT'?",
        "policy.yaml:8: mesh.asumeInjected: unknown key; did you mean 'assumeInjected'? "
        "(expected one of assumeInjected, istioVersion, mtls, probeRewrite, rootNamespace)",
        "policy.yaml:10: namespaces[0].profil: unknown key; did you mean 'profile'? "
        "(expected one of match, profile, rules)",
    ]


def test_a_far_miss_gets_no_suggestion() -> None:
    with pytest.raises(PolicyError, match=r"rules\.frobnicate: no rule has this code or name \(see"):
        parse_policy("rules: {frobnicate: deny}", CATALOGUE, "policy.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "rules:\n  MW201: " + "9" * 4301,
            f"policy.yaml:2: '{'9' * 37}...' is not a usable int: too many digits",
        ),
        ("rules:\n  MW201: " + "[" * 3000 + "]" * 3000, "policy.yaml:2: nested more than 32 levels deep"),
        ("mesh:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 40)), "policy.yaml:32: nested more"),
        ("profile: 2024-02-30", "policy.yaml:1: '2024-02-30' is not a usable timestamp: day is out of range"),
        ("profile: strict\x07", "policy.yaml:1: character #x0007 is not allowed in YAML"),
        ("profile: !!python/object:os.system x", "policy.yaml:1: could not determine a constructor"),
        ("profile: " + "x" * 100_000, "policy.yaml:1: profile: 'xxxxxxxxx"),
        (
            "mesh: {probeRewrite: 0x" + "f" * 5000 + "}",
            "policy.yaml:1: mesh.probeRewrite: expected true or false, got a number",
        ),
    ],
)
def test_hostile_policies_are_policy_errors_naming_file_and_line(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as raised:
        parse_policy(text, CATALOGUE, "policy.yaml")
    assert str(raised.value).startswith(message)
    assert len(str(raised.value)) < 300


def test_policy_files_that_are_not_text_or_too_large_are_refused(tmp_path: Path) -> None:
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"profile: \xff\xfe\n")
    with pytest.raises(PolicyError, match=r"binary\.yaml: not UTF-8 text \(byte 9\)"):
        load_policy(binary, CATALOGUE)
    large = tmp_path / "large.yaml"
    large.write_bytes(b"# " + b"x" * MAX_POLICY_BYTES + b"\n")
    with pytest.raises(PolicyError, match=r"large\.yaml: the policy file is larger than 1024 KiB"):
        load_policy(large, CATALOGUE)
    with pytest.raises(PolicyError, match=r"missing\.yaml: cannot read policy file"):
        load_policy(tmp_path / "missing.yaml", CATALOGUE)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules:\n  MW201: " + "9" * 4301, ":2: '999"),
        ("rules:\n  MW201: " + "[" * 3000 + "]" * 3000, ":2: nested more than 32 levels deep"),
    ],
)
def test_the_cli_names_the_policy_file_and_exits_2(
    text: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(text)
    manifest = tmp_path / "svc.yaml"
    manifest.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n")
    assert main(["check", "--config", str(policy), str(manifest)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"meshwarden check: error: {policy}{message}")
