"""The policy file: strict validation, profiles, per-rule and per-namespace actions."""

import pytest

from webhook.findings import Action
from webhook.policy import Policy, PolicyError, Profile, parse_policy
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
    ("text", "named"),
    [
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
