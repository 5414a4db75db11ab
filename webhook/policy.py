"""The policy file: profile, per-rule actions and options, namespace overrides, mesh facts.

Validation is strict: an unknown key or a bad value raises PolicyError naming the key, so that a
typo can never silently switch a rule off. Rule codes and names are checked against the catalogue
the caller gives.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from webhook.findings import Action
from webhook.istio.mesh import NEWEST_ISTIO, MeshFacts
from webhook.rules import Catalogue, Rule

if TYPE_CHECKING:  # PyYAML is imported when a policy file is read: `check` without one starts faster
    import yaml
    from yaml.nodes import Node


class Profile(StrEnum):
    DEFAULT = "default"
    STRICT = "strict"
    AUDIT = "audit"


class PolicyError(ValueError):
    """The policy cannot be used: every problem found, one a line, each naming file, line and key."""


T = TypeVar("T")


DEFAULT_EXEMPT = ("kube-system", "kube-public", "kube-node-lease")
MTLS_MODES = ("STRICT", "PERMISSIVE", "unknown")
_ISTIO_VERSION = re.compile(r"1\.(0|[1-9][0-9]*)(?:\.[0-9]+)?")


class NamespaceOverride(NamedTuple):
    match: str
    profile: Profile | None
    actions: Mapping[str, Action]


class Resolved(NamedTuple):
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
        return _rule_options(self, rule)


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


@lru_cache(maxsize=1024)
def _rule_options(policy: Policy, rule: Rule) -> Mapping[str, Any]:
    return {**rule.options, **policy.options.get(rule.code, {})}


def _matches_any(namespace: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(namespace, p) for p in patterns)


# --- loading -------------------------------------------------------------------------------------

_TOP_KEYS = {"profile", "rules", "namespaces", "exemptNamespaces", "mesh", "ingressNginx", "gateways"}
MAX_POLICY_BYTES = 1024 * 1024
MAX_DEPTH = 32
"""A policy is a few levels deep; deeper nesting is refused before it can exhaust the stack."""
_SHOWN_LENGTH = 40


def load_policy(path: str | Path, catalogue: Catalogue) -> Policy:
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read policy file: {exc.strerror}") from None
    if len(data) > MAX_POLICY_BYTES:
        raise PolicyError(f"{path}: the policy file is larger than {MAX_POLICY_BYTES // 1024} KiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return parse_policy(text, catalogue, str(path))


def parse_policy(text: str, catalogue: Catalogue, source: str = "policy") -> Policy:
    """The policy in `text`; PolicyError lists every problem, each with its line and key."""
    import yaml
    from yaml.parser import ParserError
    from yaml.reader import ReaderError
    from yaml.scanner import ScannerError

    try:
        loader = _policy_loader()(text)
    except ReaderError as exc:  # a control character: refused before parsing
        where = f"{source}:{text.count(chr(10), 0, exc.position) + 1}"
        raise PolicyError(f"{where}: character #x{exc.character:04x} is not allowed in YAML") from None
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        syntax = "YAML syntax error: " if isinstance(exc, ScannerError | ParserError) else ""
        raise PolicyError(f"{where}: {syntax}{_yaml_problem(exc)}") from None
    finally:
        loader.dispose()
    if root is None or data is None:
        return Policy()
    problems = _Problems(source, _key_lines(root))
    policy = _build(data, catalogue, problems)
    if problems.found:
        raise PolicyError(problems.report())
    return policy


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """`expected a single document in the stream, but found another document`, without the
    error's own position lines (the caller names file and line)."""
    from yaml.parser import ParserError
    from yaml.scanner import ScannerError

    context, problem = getattr(exc, "context", None), getattr(exc, "problem", None)
    if not problem:
        return str(exc)
    return f"{context}, {problem}" if context and not isinstance(exc, ScannerError | ParserError) else problem


@cache
def _policy_loader() -> type[yaml.SafeLoader]:
    """PyYAML's safe loader with nesting capped and every bad scalar reported at its line, made on
    first use, so that PyYAML is imported only when there is a policy file to read."""
    import yaml
    from yaml.composer import ComposerError
    from yaml.constructor import ConstructorError

    class PolicyLoader(yaml.SafeLoader):
        def __init__(self, text: str):
            super().__init__(text)
            self._depth = 0

        def compose_node(self, parent: Node | None, index: int) -> Node | None:
            self._depth += 1
            try:
                if self._depth > MAX_DEPTH:
                    mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                    raise ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep", mark)
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

        def construct_object(self, node: Node, deep: bool = False) -> Any:
            try:
                return super().construct_object(node, deep)
            except ValueError as exc:  # int() beyond its digit limit, a date that does not exist
                kind = node.tag.rpartition(":")[2]
                reason = "too many digits" if kind == "int" else str(exc)
                problem = f"{_shown(node.value)} is not a usable {kind}: {reason}"
                raise ConstructorError(None, None, problem, node.start_mark) from None

    return PolicyLoader


def _key_lines(root: Node) -> dict[str, int]:
    """The line of each key and list entry, by the path the problems name (`rules.MW201`)."""
    from yaml.nodes import MappingNode, SequenceNode

    lines: dict[str, int] = {}
    seen: set[int] = set()  # aliases share nodes: each is walked once

    def walk(node: Node, path: str) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, MappingNode):
            for key, value in node.value:
                child = f"{path}.{key.value}" if path else str(key.value)
                lines[child] = key.start_mark.line + 1
                walk(value, child)
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                lines[f"{path}[{index}]"] = item.start_mark.line + 1
                walk(item, f"{path}[{index}]")

    walk(root, "")
    return lines


class _Problems:
    """Every problem found in one policy file, each at the line of the key it names."""

    def __init__(self, source: str, lines: dict[str, int]):
        self.source = source
        self.lines = lines
        self.found: list[tuple[int, str, str]] = []

    def add(self, where: str, message: str) -> None:
        self.found.append((self._line(where), where, message))

    def _line(self, where: str) -> int:
        path = where
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return 0

    def report(self) -> str:
        entries = [
            f"{self.source}:{line}: {where}: {message}" if line else f"{self.source}: {where}: {message}"
            for line, where, message in sorted(self.found, key=lambda found: found[0])
        ]
        if len(entries) == 1:
            return entries[0]
        return "\n".join([f"{self.source}: {len(entries)} problems:", *entries])


def _build(data: Any, catalogue: Catalogue, problems: _Problems) -> Policy:
    top = _mapping(data, "(top level)", problems) or {}
    _no_unknown(top, _TOP_KEYS, "", problems)
    actions, options = _rules(top.get("rules"), "rules", catalogue, problems)
    mesh = _mapping(top.get("mesh") or {}, "mesh", problems) or {}
    _no_unknown(
        mesh, {"mtls", "probeRewrite", "assumeInjected", "rootNamespace", "istioVersion"}, "mesh.", problems
    )
    mtls = _choice(mesh.get("mtls", "unknown"), MTLS_MODES, "mesh.mtls", problems)
    nginx = _mapping(top.get("ingressNginx") or {}, "ingressNginx", problems) or {}
    _no_unknown(nginx, {"meshed"}, "ingressNginx.", problems)
    gateways = _mapping(top.get("gateways") or {}, "gateways", problems) or {}
    _no_unknown(gateways, {"namespaceScoped"}, "gateways.", problems)
    exempt = top.get("exemptNamespaces", list(DEFAULT_EXEMPT))
    if not isinstance(exempt, list) or not all(isinstance(n, str) and n for n in exempt):
        problems.add("exemptNamespaces", "expected a list of namespace names or globs")
        exempt = list(DEFAULT_EXEMPT)
    defaults = MeshFacts()
    return Policy(
        profile=_profile(top.get("profile", "default"), "profile", problems) or Profile.DEFAULT,
        actions=actions,
        options=options,
        namespaces=tuple(
            override
            for i, entry in enumerate(_list(top.get("namespaces"), "namespaces", problems))
            if (override := _namespace(entry, i, catalogue, problems)) is not None
        ),
        exempt_namespaces=tuple(exempt),
        mesh=MeshFacts(
            mtls=mtls or defaults.mtls,
            probe_rewrite=_bool(mesh.get("probeRewrite", True), "mesh.probeRewrite", problems),
            assume_injected=_bool(mesh.get("assumeInjected", True), "mesh.assumeInjected", problems),
            root_namespace=_str(mesh.get("rootNamespace", "istio-system"), "mesh.rootNamespace", problems)
            or defaults.root_namespace,
            istio_version=_istio_version(mesh["istioVersion"], "mesh.istioVersion", problems)
            if "istioVersion" in mesh
            else NEWEST_ISTIO,
            ingress_nginx_meshed=_bool(nginx.get("meshed", False), "ingressNginx.meshed", problems),
            gateways_namespace_scoped=_bool(
                gateways.get("namespaceScoped", False), "gateways.namespaceScoped", problems
            ),
        ),
    )


def _namespace(entry: Any, index: int, catalogue: Catalogue, problems: _Problems) -> NamespaceOverride | None:
    where = f"namespaces[{index}]"
    override = _mapping(entry, where, problems)
    if override is None:
        return None
    _no_unknown(override, {"match", "profile", "rules"}, where + ".", problems)
    match = _str(override.get("match"), where + ".match", problems)
    actions, options = _rules(override.get("rules"), where + ".rules", catalogue, problems)
    if options:
        problems.add(where + ".rules", "rule options can only be set at the top level")
    profile = _profile(override["profile"], where + ".profile", problems) if "profile" in override else None
    return NamespaceOverride(match, profile, actions) if match else None


def _rules(
    value: Any, where: str, catalogue: Catalogue, problems: _Problems
) -> tuple[dict[str, Action], dict[str, dict[str, Any]]]:
    actions: dict[str, Action] = {}
    options: dict[str, dict[str, Any]] = {}
    for key, setting in (_mapping(value or {}, where, problems) or {}).items():
        found = catalogue.find(str(key))
        if found is None:
            hint = _did_you_mean(str(key), [n for r in catalogue for n in (r.code, r.name)])
            problems.add(f"{where}.{key}", f"no rule has this code or name{hint} (see `meshwarden rules`)")
            continue
        if isinstance(setting, dict):
            _no_unknown(setting, {"action", "options"}, f"{where}.{key}.", problems)
            if "action" in setting:
                action = _action(setting["action"], f"{where}.{key}.action", problems)
                if action is not None:
                    actions[found.code] = action
            if "options" in setting:
                options[found.code] = _options(found, setting["options"], f"{where}.{key}.options", problems)
        elif (action := _action(setting, f"{where}.{key}", problems)) is not None:
            actions[found.code] = action
    return actions, options


def _options(rule: Rule, value: Any, where: str, problems: _Problems) -> dict[str, Any]:
    given = _mapping(value, where, problems)
    if given is None:
        return {}
    if not rule.options:
        problems.add(where, f"rule {rule.code} has no options")
        return {}
    _no_unknown(given, set(rule.options), where + ".", problems)
    for key, default in rule.options.items():
        if key in given and type(given[key]) is not type(default):
            problems.add(f"{where}.{key}", f"expected {type(default).__name__}, got {_shown(given[key])}")
    return {k: v for k, v in given.items() if k in rule.options and type(v) is type(rule.options[k])}


def _action(value: Any, where: str, problems: _Problems) -> Action | None:
    if value is False:  # YAML 1.1 reads an unquoted `off` as false
        return Action.OFF
    return _choice(value, tuple(Action), where, problems)


def _profile(value: Any, where: str, problems: _Problems) -> Profile | None:
    return _choice(value, tuple(Profile), where, problems)


def _choice(value: Any, choices: tuple[T, ...], where: str, problems: _Problems) -> T | None:
    if isinstance(value, str) and value in choices:
        return choices[choices.index(value)]
    names = [str(c) for c in choices]
    hint = _did_you_mean(value, names) if isinstance(value, str) else ""
    problems.add(where, f"{_shown(value)} is not one of {', '.join(names)}{hint}")
    return None


def _no_unknown(data: Mapping[str, Any], known: set[str], prefix: str, problems: _Problems) -> None:
    for key in data:
        if key not in known:
            hint = _did_you_mean(str(key), sorted(known))
            problems.add(f"{prefix}{key}", f"unknown key{hint} (expected one of {', '.join(sorted(known))})")


def _did_you_mean(word: str, candidates: list[str]) -> str:
    """`; did you mean "profile"?` for a near miss (case aside), else nothing."""
    import difflib  # 2 ms to import, for a mistaken policy

    by_folded = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(word.lower(), by_folded, n=1, cutoff=0.75)
    return f"; did you mean {by_folded[close[0]]!r}?" if close else ""


def _mapping(value: Any, where: str, problems: _Problems) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        problems.add(where, f"expected a mapping, got {_type_name(value)}")
        return None
    return value


def _list(value: Any, where: str, problems: _Problems) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(where, f"expected a list, got {_type_name(value)}")
        return []
    return value


def _bool(value: Any, where: str, problems: _Problems) -> bool:
    if not isinstance(value, bool):
        problems.add(where, f"expected true or false, got {_shown(value)}")
        return False
    return value


def _istio_version(value: Any, where: str, problems: _Problems) -> tuple[int, int]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        problems.add(
            where,
            f'{_shown(value)} is a number; write the version as a quoted string such as "1.20" '
            "(YAML reads an unquoted 1.20 as 1.2)",
        )
        return NEWEST_ISTIO
    found = _ISTIO_VERSION.fullmatch(value) if isinstance(value, str) and len(value) <= 16 else None
    if found is None:
        problems.add(where, f'{_shown(value)} is not an Istio version such as "1.24"')
        return NEWEST_ISTIO
    return (1, int(found[1]))


def _str(value: Any, where: str, problems: _Problems) -> str:
    if not isinstance(value, str) or not value:
        problems.add(where, f"expected a non-empty string, got {_shown(value)}")
        return ""
    return value


def _shown(value: Any) -> str:
    """A value for an error message, never longer than a line: the file may hold anything."""
    if isinstance(value, str):
        return repr(value if len(value) <= _SHOWN_LENGTH else value[: _SHOWN_LENGTH - 3] + "...")
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return "a number too large to use"
    if isinstance(value, (dict, list)):
        return _type_name(value)
    return repr(value)


def _type_name(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", type(None): "nothing"}
    return names.get(type(value), type(value).__name__)
