"""The policy file: profile, per-rule actions and options, namespace overrides, mesh facts.

Validation is strict: an unknown key or a bad value raises PolicyError naming the key, so that a
typo can never silently switch a rule off. Rule codes and names are checked against the catalogue
the caller gives.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from webhook.findings import Action
from webhook.istio.mesh import MeshFacts
from webhook.rules import Catalogue, Rule


class Profile(StrEnum):
    DEFAULT = "default"
    STRICT = "strict"
    AUDIT = "audit"


class PolicyError(ValueError):
    pass


DEFAULT_EXEMPT = ("kube-system", "kube-public", "kube-node-lease")
MTLS_MODES = ("STRICT", "PERMISSIVE", "unknown")


@dataclass(frozen=True)
class NamespaceOverride:
    match: str
    profile: Profile | None = None
    actions: Mapping[str, Action] = field(default_factory=dict)


@dataclass(frozen=True)
class Resolved:
    """A rule's effective action in one namespace, and whether the strict profile produced it."""

    action: Action
    strict: bool


@dataclass(frozen=True, eq=False)
class Policy:
    profile: Profile = Profile.DEFAULT
    actions: Mapping[str, Action] = field(default_factory=dict)
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    namespaces: tuple[NamespaceOverride, ...] = ()
    exempt_namespaces: tuple[str, ...] = DEFAULT_EXEMPT
    mesh: MeshFacts = field(default_factory=MeshFacts)

    def with_profile(self, profile: Profile) -> Policy:
        return replace(self, profile=profile)

    def with_exempt(self, *namespaces: str) -> Policy:
        return replace(self, exempt_namespaces=(*self.exempt_namespaces, *namespaces))

    def is_exempt(self, namespace: str) -> bool:
        return _matches_any(namespace, self.exempt_namespaces)

    def resolve(self, rule: Rule, namespace: str) -> Resolved:
        return _resolve(self, rule, namespace)

    def rule_options(self, rule: Rule) -> Mapping[str, Any]:
        return {**rule.options, **self.options.get(rule.code, {})}


@lru_cache(maxsize=4096)
def _resolve(policy: Policy, rule: Rule, namespace: str) -> Resolved:
    override = next((o for o in policy.namespaces if fnmatch.fnmatchcase(namespace, o.match)), None)
    if override and rule.code in override.actions:
        return Resolved(override.actions[rule.code], False)
    if rule.code in policy.actions:
        return Resolved(policy.actions[rule.code], False)
    profile = override.profile if override and override.profile else policy.profile
    if profile is Profile.STRICT:
        return Resolved(Action.DENY, True)
    if profile is Profile.AUDIT:
        return Resolved(Action.WARN, False)
    return Resolved(rule.default, False)


def _matches_any(namespace: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(namespace, p) for p in patterns)


# --- loading -------------------------------------------------------------------------------------

_TOP_KEYS = {"profile", "rules", "namespaces", "exemptNamespaces", "mesh", "ingressNginx", "gateways"}


def load_policy(path: str | Path, catalogue: Catalogue) -> Policy:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read policy file: {exc.strerror}") from None
    return parse_policy(text, catalogue, str(path))


def parse_policy(text: str, catalogue: Catalogue, source: str = "policy") -> Policy:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        raise PolicyError(f"{where}: YAML syntax error: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        return Policy()
    try:
        return _build(_mapping(data, "(top level)"), catalogue)
    except PolicyError as exc:
        raise PolicyError(f"{source}: {exc}") from None


def _build(data: Mapping[str, Any], catalogue: Catalogue) -> Policy:
    _no_unknown(data, _TOP_KEYS, "")
    actions, options = _rules(data.get("rules"), "rules", catalogue)
    mesh = _mapping(data.get("mesh") or {}, "mesh")
    _no_unknown(mesh, {"mtls", "probeRewrite", "assumeInjected", "rootNamespace"}, "mesh.")
    mtls = mesh.get("mtls", "unknown")
    if mtls not in MTLS_MODES:
        raise PolicyError(f"mesh.mtls: {mtls!r} is not one of {', '.join(MTLS_MODES)}")
    nginx = _mapping(data.get("ingressNginx") or {}, "ingressNginx")
    _no_unknown(nginx, {"meshed"}, "ingressNginx.")
    gateways = _mapping(data.get("gateways") or {}, "gateways")
    _no_unknown(gateways, {"namespaceScoped"}, "gateways.")
    exempt = data.get("exemptNamespaces", list(DEFAULT_EXEMPT))
    if not isinstance(exempt, list) or not all(isinstance(n, str) and n for n in exempt):
        raise PolicyError("exemptNamespaces: expected a list of namespace names or globs")
    return Policy(
        profile=_profile(data.get("profile", "default"), "profile"),
        actions=actions,
        options=options,
        namespaces=tuple(
            _namespace(entry, i, catalogue) for i, entry in enumerate(_list(data.get("namespaces")))
        ),
        exempt_namespaces=tuple(exempt),
        mesh=MeshFacts(
            mtls=mtls,
            probe_rewrite=_bool(mesh.get("probeRewrite", True), "mesh.probeRewrite"),
            assume_injected=_bool(mesh.get("assumeInjected", True), "mesh.assumeInjected"),
            root_namespace=_str(mesh.get("rootNamespace", "istio-system"), "mesh.rootNamespace"),
            gateways_namespace_scoped=_bool(
                gateways.get("namespaceScoped", False), "gateways.namespaceScoped"
            ),
            ingress_nginx_meshed=_bool(nginx.get("meshed", False), "ingressNginx.meshed"),
        ),
    )


def _namespace(entry: Any, index: int, catalogue: Catalogue) -> NamespaceOverride:
    where = f"namespaces[{index}]"
    entry = _mapping(entry, where)
    _no_unknown(entry, {"match", "profile", "rules"}, where + ".")
    match = _str(entry.get("match"), where + ".match")
    actions, options = _rules(entry.get("rules"), where + ".rules", catalogue)
    if options:
        raise PolicyError(f"{where}.rules: rule options can only be set at the top level")
    profile = _profile(entry["profile"], where + ".profile") if "profile" in entry else None
    return NamespaceOverride(match, profile, actions)


def _rules(
    value: Any, where: str, catalogue: Catalogue
) -> tuple[dict[str, Action], dict[str, dict[str, Any]]]:
    actions: dict[str, Action] = {}
    options: dict[str, dict[str, Any]] = {}
    for key, setting in _mapping(value or {}, where).items():
        found = catalogue.find(str(key))
        if found is None:
            raise PolicyError(f"{where}.{key}: no rule has this code or name (see `meshwarden rules`)")
        if isinstance(setting, dict):
            _no_unknown(setting, {"action", "options"}, f"{where}.{key}.")
            if "action" in setting:
                actions[found.code] = _action(setting["action"], f"{where}.{key}.action")
            if "options" in setting:
                options[found.code] = _options(found, setting["options"], f"{where}.{key}.options")
        else:
            actions[found.code] = _action(setting, f"{where}.{key}")
    return actions, options


def _options(rule: Rule, value: Any, where: str) -> dict[str, Any]:
    given = _mapping(value, where)
    if not rule.options:
        raise PolicyError(f"{where}: rule {rule.code} has no options")
    _no_unknown(given, set(rule.options), where + ".")
    for key, default in rule.options.items():
        if key in given and type(given[key]) is not type(default):
            raise PolicyError(f"{where}.{key}: expected {type(default).__name__}, got {given[key]!r}")
    return dict(given)


def _action(value: Any, where: str) -> Action:
    if value is False:  # YAML 1.1 reads an unquoted `off` as false
        return Action.OFF
    try:
        return Action(value)
    except ValueError:
        raise PolicyError(f"{where}: {value!r} is not one of deny, warn, off") from None


def _profile(value: Any, where: str) -> Profile:
    try:
        return Profile(value)
    except ValueError:
        raise PolicyError(f"{where}: {value!r} is not one of default, strict, audit") from None


def _no_unknown(data: Mapping[str, Any], known: set[str], prefix: str) -> None:
    for key in data:
        if key not in known:
            raise PolicyError(f"{prefix}{key}: unknown key (expected one of {', '.join(sorted(known))})")


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PolicyError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PolicyError(f"namespaces: expected a list, got {type(value).__name__}")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise PolicyError(f"{where}: expected true or false, got {value!r}")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise PolicyError(f"{where}: expected a non-empty string, got {value!r}")
    return value
