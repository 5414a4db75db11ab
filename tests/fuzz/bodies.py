"""Hostile /validate bodies, each reproducible from (seed, index) alone.

A body starts as a realistic review (seeds.py) and gets one family of damage: type swaps, huge
strings and numbers, deep nesting, odd unicode, removed, duplicated or multiplied entries inside
the object; regex-hostile text in the fields Meshwarden parses (durations, ports, hosts, CIDRs,
Istio annotations and labels); a damaged envelope; or damaged bytes (truncated, invalid JSON,
invalid UTF-8). Some of it cannot be written as a Python value for orjson (5,000-digit numbers,
1e400, nesting deeper than orjson writes, duplicate keys, lone surrogates): those go in as
placeholders replaced in the serialized text.
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from tests.fuzz.seeds import review, seed_objects
from webhook.istio.annotations import ANNOTATIONS
from webhook.istio.injector import ANNOTATION_VALIDATORS, READINESS_PREFIX
from webhook.server.settings import ServerSettings

MAX_BODY_BYTES = ServerSettings.max_body_bytes
LIST_BUDGET_BYTES = 2 * 1024 * 1024
"""A multiplied list stays under this: the API server refuses larger objects long before 16 MiB."""
WALK_DEPTH = 40
NOT_JSON = object()
"""`Case.sent` of a body the server's JSON parser refuses."""


@dataclass(frozen=True)
class Limits:
    hostile_length: int
    """Longest regex-hostile run of text."""
    object_depth: int
    """Deepest nesting put inside an object (orjson refuses more than 1024 levels in all)."""
    envelope_depth: int
    """Deepest nesting put as an envelope field's value."""
    list_items: int
    """Most entries a list inside an object is multiplied to."""
    oversize_rate: float
    """Share of bodies padded to just under or just over the body-size limit."""


FULL = Limits(
    hostile_length=256 * 1024, object_depth=1100, envelope_depth=1100, list_items=2000, oversize_rate=2e-4
)


@dataclass(frozen=True)
class Case:
    seed: int
    index: int
    kind: str
    body: bytes
    mutations: tuple[str, ...]
    sent: Any = field(repr=False)
    """The body as the server's JSON parser reads it, or NOT_JSON."""
    must_admit: bool
    """An intact review: the only right answer is HTTP 200."""

    @property
    def name(self) -> str:
        return f"{self.seed}:{self.index}"

    def describe(self) -> str:
        return (
            f"body {self.name} ({self.kind}, {len(self.body)} bytes): {'; '.join(self.mutations) or 'intact'}"
        )


@dataclass
class _Draft:
    """A review being damaged, with the raw JSON its placeholders stand for."""

    review: Any
    mutations: list[str] = field(default_factory=list)
    raw: dict[str, bytes] = field(default_factory=dict)
    duplicates: dict[str, str] = field(default_factory=dict)
    envelope_damaged: bool = False

    def placeholder(self, literal: bytes) -> str:
        name = f"@@raw{len(self.raw)}@@"
        self.raw[name] = literal
        return name

    def duplicate_key(self, key: str) -> str:
        name = f"@@dup{len(self.duplicates)}@@"
        self.duplicates[name] = key
        return name

    def serialize(self) -> bytes:
        text = orjson.dumps(self.review)
        for name, literal in self.raw.items():
            text = text.replace(orjson.dumps(name), literal)
        for name, key in self.duplicates.items():
            text = text.replace(orjson.dumps(name), orjson.dumps(key))
        return text


class Fuzzer:
    def __init__(self, seed: int, limits: Limits = FULL):
        self.seed = seed
        self.limits = limits
        self.seeds = seed_objects()

    def case(self, index: int) -> Case:
        rng = random.Random(f"{self.seed}:{index}")
        obj = rng.choice(self.seeds)
        draft = _Draft(review(rng, obj))
        family = rng.choices(
            ("object", "fields", "envelope", "bytes", "intact"), weights=(40, 30, 15, 10, 5)
        )[0]
        if family == "object":
            for _ in range(rng.randint(1, 4)):
                _mutate_object(rng, draft, self.limits)
        elif family == "fields":
            for _ in range(rng.randint(1, 3)):
                _hostile_field(rng, draft, self.limits)
        elif family == "envelope":
            _damage_envelope(rng, draft, self.limits)
            if rng.random() < 0.3:
                _mutate_object(rng, draft, self.limits)
        body = draft.serialize()
        if family == "bytes":
            body = _damage_bytes(rng, body, draft.mutations)
        elif rng.random() < self.limits.oversize_rate:
            body = _pad(rng, body, draft.mutations)
        sent = _parse(body)
        intact = family != "bytes" and not draft.envelope_damaged
        return Case(
            seed=self.seed,
            index=index,
            kind=obj["kind"],
            body=body,
            mutations=tuple(draft.mutations),
            sent=sent,
            must_admit=intact and sent is not NOT_JSON and len(body) <= MAX_BODY_BYTES,
        )


def _parse(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return NOT_JSON


# --- values ----------------------------------------------------------------------------------------

SCALARS: dict[str, tuple[Any, ...]] = {
    "string": ("", "80", "http", "true", "v1", "*", "-1", "1e3", "null", "~", "0x1F", "1_000"),
    "number": (0, -1, 1, 80, 65535, 65536, 2**31, 2**32, 2**53 + 1, 2**63 - 1, -(2**63), 0.5, -0.0, 80.0),
    "list": ((), (None,), ("x",), (1, "a", None), ((),)),
    "object": ({}, {"a": "b"}, {"": None}, {"number": "80"}, {"name": 1}),
    "null": (None,),
    "bool": (True, False),
}
HUGE_NUMBERS = (
    b"1" + b"0" * 19,
    b"18446744073709551616",
    b"-9223372036854775809",
    b"1" + b"0" * 400,
    b"1" + b"0" * 4300,
    b"9" * 5000,
    b"-" + b"9" * 5000,
    b"1e400",
    b"-1e400",
    b"1e-400",
    b"1.7976931348623157e308",
    b"5e-324",
    b"0." + b"0" * 5000 + b"1",
    b"1" * 5000 + b".5",
    b"-0",
    b"1E+2",
)
ODD_TEXT = (
    "\x00",
    "\x01\x1f",
    "\x7f",
    "\x85",
    "\u2028\u2029",
    "\u202e",
    "\ufeff",
    "e\u0301",
    "\U0001f4a5",
    "\U0010ffff",
    "\ufffd",
    "\r\n",
    "\t",
    "\\",
    '"',
    "İ",
    "ß",
    "ǅ",
    "%s%n",
    "${jndi:ldap://x}",
    "../../../etc/passwd",
    "' OR 1=1 --",
    "²",
    "٣",
    "--5",
    "+5",
)
LONE_SURROGATES = (b'"\\ud800"', b'"x\\udfffy"', b'"\\udc00\\ud800"')
HOSTILE_TEXT: tuple[tuple[str, Callable[[int], str]], ...] = (
    ("digits then x", lambda n: "1" * n + "x"),
    ("1, spaces, x", lambda n: "1" + " " * n + "x"),
    ("spaces around 1", lambda n: " " * n + "1" + " " * n + "!"),
    ("tabs around 1", lambda n: "\t" * n + "1" + "\t" * n),
    ("1. zeros q", lambda n: "1." + "0" * n + "q"),
    ("digits dot", lambda n: "1" * n + "."),
    ("dots", lambda n: "." * n + "1"),
    ("leading zeros", lambda n: "0" * n + "1"),
    ("nines", lambda n: "9" * n),
    ("1h repeated", lambda n: "1h" * (n // 2) + "1x"),
    ("1.5s repeated", lambda n: "1.5s" * (n // 4) + "s"),
    ("ranges", lambda n: "1-" * (n // 2) + "x"),
    ("port list", lambda n: "1," * (n // 2) + "x"),
    ("spaced port list", lambda n: " 1 ," * (n // 4) + " x"),
    ("CIDR list", lambda n: "10.0.0.0/8," * (n // 11) + "10.0.0.0/33"),
    ("dotted labels", lambda n: "a." * (n // 2) + "-"),
    ("wildcards", lambda n: "*." * (n // 2) + "*"),
    ("hyphens", lambda n: "a" + "-" * n + "!"),
    ("open brackets", lambda n: "[" * n),
    ("open braces", lambda n: "{" * n),
    ("yaml dashes", lambda n: "- " * (n // 2)),
    ("quantity", lambda n: "1" * n + "Mi Mi"),
    ("exponent", lambda n: "1e" + "9" * n),
    ("letters", lambda n: "a" * n),
)
INTERESTING_KEYS = frozenset(
    {
        "timeout",
        "perTryTimeout",
        "fixedDelay",
        "maxAge",
        "connectTimeout",
        "interval",
        "baseEjectionTime",
        "idleTimeout",
        "time",
        "ttl",
        "port",
        "targetPort",
        "number",
        "containerPort",
        "name",
        "protocol",
        "appProtocol",
        "host",
        "hosts",
        "gateways",
        "sniHosts",
        "subset",
        "mode",
        "credentialName",
        "bind",
        "retryOn",
        "attempts",
        "weight",
        "value",
        "httpStatus",
        "exportTo",
        "ingressClassName",
        "path",
        "regex",
        "prefix",
        "exact",
        "addresses",
        "schedule",
        "serviceAccountName",
        "generateName",
        "namespace",
        "apiVersion",
        "kind",
    }
)
ANNOTATION_KEYS = tuple(sorted(ANNOTATIONS))
PARSED_ANNOTATIONS = (
    *sorted(ANNOTATION_VALIDATORS),
    *(key for key in ANNOTATION_KEYS if key.startswith(READINESS_PREFIX)),
    "proxy.istio.io/config",
    "networking.istio.io/exportTo",
    "kubernetes.io/ingress.class",
    "meshwarden.io/suppress",
)
"""The annotations Meshwarden reads the values of."""
LABEL_KEYS = (
    "app",
    "version",
    "app.kubernetes.io/name",
    "app.kubernetes.io/version",
    "service.istio.io/canonical-name",
    "service.istio.io/canonical-revision",
    "istio-injection",
    "istio.io/rev",
    "sidecar.istio.io/inject",
    "security.istio.io/tlsMode",
    "istio",
)


def _length(rng: random.Random, limit: int) -> int:
    """Mostly short, sometimes up to `limit`: uniform in log scale."""
    return max(1, min(limit, round(10 ** rng.uniform(0, math.log10(limit)))))


def _hostile_text(rng: random.Random, limits: Limits) -> tuple[str, str]:
    name, make = rng.choice(HOSTILE_TEXT)
    n = _length(rng, limits.hostile_length)
    return f"hostile {name} (n={n})", make(n)[: 2 * limits.hostile_length + 2]


def _odd_text(rng: random.Random) -> str:
    parts = rng.choices(ODD_TEXT, k=rng.randint(1, 4))
    text = rng.choice(("", "v1", "reviews", "80", "http")).join(parts)
    return text * rng.choice((1, 1, 2, 100, 5000))


def _depth(rng: random.Random, limit: int) -> int:
    """Half the time near the limit, where recursion in the code under test breaks."""
    return rng.randint(min(900, limit), limit) if rng.random() < 0.5 else _length(rng, limit)


def _nested(rng: random.Random, depth: int) -> bytes:
    opening, closing = rng.choice(((b"[", b"]"), (b'{"a":', b"}"), (b'[{"a":', b"}]")))
    if opening == b'[{"a":':
        depth //= 2
    return opening * depth + b"null" + closing * depth


def _other_type_value(rng: random.Random, current: Any) -> tuple[str, Any]:
    current_type = _type_name(current)
    choice = rng.choice([t for t in SCALARS if t != current_type])
    value = copy.deepcopy(rng.choice(SCALARS[choice]))
    return choice, list(value) if isinstance(value, tuple) else value


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "list" if isinstance(value, list) else "object"


# --- the object -------------------------------------------------------------------------------------

Site = tuple[Any, Any, str]
"""A place in the review: the container, the key or index in it, and its path for the report."""


def _sites(draft: _Draft) -> list[Site]:
    request = draft.review.get("request") if isinstance(draft.review, dict) else None
    if not isinstance(request, dict):
        return []
    found: list[Site] = []
    for root in ("object", "oldObject"):
        if isinstance(request.get(root), dict):
            found.extend(_walk(request[root], f"request.{root}", 0))
    return found


def _walk(node: Any, path: str, depth: int) -> Iterator[Site]:
    if depth > WALK_DEPTH:
        return
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        if isinstance(key, str) and key.startswith("@@dup"):
            continue  # a duplicated key's placeholder
        here = f"{path}.{key}" if isinstance(key, str) else f"{path}[{key}]"
        yield node, key, here
        yield from _walk(value, here, depth + 1)


def _mutate_object(rng: random.Random, draft: _Draft, limits: Limits) -> None:
    sites = _sites(draft)
    if not sites:
        return
    container, key, path = rng.choice(sites)
    operation = rng.choice(
        (
            "swap",
            "swap",
            "hostile",
            "huge number",
            "nested",
            "odd text",
            "remove",
            "duplicate",
            "multiply",
            "empty",
        )
    )
    if operation == "swap":
        type_name, container[key] = _other_type_value(rng, container[key])
        draft.mutations.append(f"{path}: a {type_name} instead")
    elif operation == "hostile":
        what, container[key] = _hostile_text(rng, limits)
        draft.mutations.append(f"{path}: {what}")
    elif operation == "huge number":
        literal = rng.choice(HUGE_NUMBERS)
        container[key] = draft.placeholder(literal)
        draft.mutations.append(f"{path}: number {_shown(literal)}")
    elif operation == "nested":
        depth = _depth(rng, limits.object_depth)
        container[key] = draft.placeholder(_nested(rng, depth))
        draft.mutations.append(f"{path}: nested {depth} deep")
    elif operation == "odd text":
        text = _odd_text(rng)
        if isinstance(container, dict) and rng.random() < 0.3:
            container[text] = container.pop(key)
            draft.mutations.append(f"{path}: key renamed to odd text {text[:40]!r} ({len(text)} chars)")
        else:
            container[key] = text
            draft.mutations.append(f"{path}: odd text {text[:40]!r} ({len(text)} chars)")
    elif operation == "remove":
        del container[key]
        draft.mutations.append(f"{path}: removed")
    elif operation == "duplicate" and isinstance(container, dict):
        other_type, value = _other_type_value(rng, container[key])
        container[draft.duplicate_key(key)] = value
        draft.mutations.append(f"{path}: key written twice, the second a {other_type}")
    elif operation == "multiply" and isinstance(container[key], list) and container[key]:
        _multiply(rng, container[key], path, draft, limits)
    else:
        container[key] = {} if isinstance(container[key], dict) or rng.random() < 0.5 else []
        draft.mutations.append(f"{path}: emptied")


def _multiply(rng: random.Random, items: list[Any], path: str, draft: _Draft, limits: Limits) -> None:
    entry = rng.choice(items)
    size = len(orjson.dumps(entry)) + 1
    count = min(_length(rng, limits.list_items), LIST_BUDGET_BYTES // size)
    items[:] = [copy.deepcopy(entry) for _ in range(count)]
    draft.mutations.append(f"{path}: {count} copies of one entry")


def _hostile_field(rng: random.Random, draft: _Draft, limits: Limits) -> None:
    """Hostile or odd text where Meshwarden parses: named fields, Istio annotations and labels."""
    sites = _sites(draft)
    metadata = [(c[k], p) for c, k, p in sites if k == "metadata" and isinstance(c[k], dict)]
    if metadata and rng.random() < 0.5:
        found, path = rng.choice(metadata)
        key = "annotations" if rng.random() < 0.7 else "labels"
        if not isinstance(found.get(key), dict):
            found[key] = {}
        keys = LABEL_KEYS if key == "labels" else rng.choice((PARSED_ANNOTATIONS, ANNOTATION_KEYS))
        name = rng.choice(keys)
        target, at = found[key], f"{path}.{key}.{name}"
    else:
        named = [(c, k, p) for c, k, p in sites if k in INTERESTING_KEYS]
        if not named:
            return
        target, name, at = rng.choice(named)
        if isinstance(target[name], list) and target[name]:
            target, name = target[name], rng.randrange(len(target[name]))
            at += f"[{name}]"
    if rng.random() < 0.8:
        what, target[name] = _hostile_text(rng, limits)
    else:
        target[name] = _odd_text(rng)
        what = f"odd text {target[name][:40]!r} ({len(target[name])} chars)"
    draft.mutations.append(f"{at}: {what}")


# --- the envelope -----------------------------------------------------------------------------------

ENVELOPE_FIELDS = (
    "apiVersion",
    "kind",
    "request",
    "request.uid",
    "request.operation",
    "request.object",
    "request.oldObject",
    "request.subResource",
    "request.dryRun",
    "request.kind",
    "request.kind.kind",
    "request.namespace",
    "request.name",
    "the review",
)
NEAR_MISSES: dict[str, tuple[str, ...]] = {
    "apiVersion": ("admission.k8s.io/v2", "admission.k8s.io/V1", "admission.k8s.io/v1 ", "v1", ""),
    "kind": ("Admissionreview", "AdmissionReviewList", "AdmissionRequest", ""),
    "request.operation": ("create", "PATCH", "CREATE ", "", "DELETE\x00"),
    "request.subResource": ("status", "", "../status", "scale/x"),
    "request.kind.kind": ("pod", "Pod ", "VirtualServiceList", "ConfigMap", ""),
    "request.uid": ("", " ", "x" * 100_000),
}


def _damage_envelope(rng: random.Random, draft: _Draft, limits: Limits) -> None:
    draft.envelope_damaged = True
    target = rng.choice(ENVELOPE_FIELDS)
    if target == "the review":
        choice = rng.choice(("list", "string", "number", "null", "nested"))
        if choice == "nested":
            depth = _depth(rng, limits.envelope_depth)
            draft.review = draft.placeholder(_nested(rng, depth))
            draft.mutations.append(f"the review: nested {depth} deep")
        else:
            draft.review = {"list": [draft.review], "string": "AdmissionReview", "number": 1, "null": None}[
                choice
            ]
            draft.mutations.append(f"the review: a {choice}")
        return
    *parents, key = target.split(".")
    container: Any = draft.review
    for parent in parents:
        if not isinstance(container, dict) or not isinstance(container.get(parent), dict):
            draft.mutations.append(f"{target}: not there to damage")
            return
        container = container[parent]
    operation = rng.choice(("remove", "type", "nested", "near miss", "odd text", "huge"))
    if operation == "remove":
        container.pop(key, None)
        draft.mutations.append(f"{target}: removed")
    elif operation == "type":
        type_name, container[key] = _other_type_value(rng, container.get(key))
        draft.mutations.append(f"{target}: a {type_name} instead")
    elif operation == "nested":
        depth = _depth(rng, limits.envelope_depth)
        container[key] = draft.placeholder(_nested(rng, depth))
        draft.mutations.append(f"{target}: nested {depth} deep")
    elif operation == "near miss" and target in NEAR_MISSES:
        container[key] = rng.choice(NEAR_MISSES[target])
        draft.mutations.append(f"{target}: {container[key][:40]!r}")
    elif operation == "huge":
        literal = rng.choice(HUGE_NUMBERS)
        container[key] = draft.placeholder(literal)
        draft.mutations.append(f"{target}: number {_shown(literal)}")
    else:
        container[key] = _odd_text(rng)
        draft.mutations.append(f"{target}: odd text {container[key][:40]!r} ({len(container[key])} chars)")


# --- the bytes --------------------------------------------------------------------------------------

INVALID_UTF8 = (b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xc0\xaf", b"\x80")
NOT_REVIEWS = (
    b"",
    b" \n\t ",
    b"null",
    b"[]",
    b"{}",
    b'"AdmissionReview"',
    b"NaN",
    b"Infinity",
    b"{'apiVersion': 'admission.k8s.io/v1'}",
    b'{"apiVersion": "admission.k8s.io/v1", /* comment */ "kind": "AdmissionReview"}',
    b"apiVersion: admission.k8s.io/v1\nkind: AdmissionReview\n",
)


def _damage_bytes(rng: random.Random, body: bytes, mutations: list[str]) -> bytes:
    operation = rng.choice(
        (
            "truncate",
            "invalid utf-8",
            "nul",
            "bom",
            "trailing",
            "not a review",
            "surrogate",
            "utf-16",
            "noise",
        )
    )
    at = rng.randrange(max(1, len(body)))
    if operation == "truncate":
        mutations.append(f"cut after {at} of {len(body)} bytes")
        return body[:at]
    if operation == "invalid utf-8":
        bad = rng.choice(INVALID_UTF8)
        quote = body.find(b'"', at)
        at = quote + 1 if quote >= 0 else at
        mutations.append(f"invalid UTF-8 {bad!r} at byte {at}")
        return body[:at] + bad + body[at:]
    if operation == "nul":
        mutations.append(f"NUL byte at {at}")
        return body[:at] + b"\x00" + body[at:]
    if operation == "bom":
        mutations.append("UTF-8 byte-order mark first")
        return b"\xef\xbb\xbf" + body
    if operation == "trailing":
        tail = rng.choice((b"}", b"x", b"\x00", b",", body, b"\n" * 3 + b"null"))
        mutations.append(f"trailing {tail[:20]!r}")
        return body + tail
    if operation == "not a review":
        other = rng.choice(NOT_REVIEWS)
        mutations.append(f"body {other!r}")
        return other
    if operation == "surrogate":
        literal = rng.choice(LONE_SURROGATES)
        quote = body.find(b'":"', at)
        mutations.append(f"a string replaced by {literal.decode()}")
        if quote < 0:
            return literal
        end = body.find(b'"', quote + 3)
        return body[: quote + 2] + literal + body[end + 1 :]
    if operation == "utf-16":
        mutations.append("encoded as UTF-16")
        return body.decode().encode("utf-16")
    noise = rng.randbytes(rng.randint(1, 64))
    mutations.append(f"{len(noise)} random bytes at {at}")
    return body[:at] + noise + body[at + len(noise) :]


def _pad(rng: random.Random, body: bytes, mutations: list[str]) -> bytes:
    """Whitespace after the review: just under the limit (still a review) or just over it."""
    target = MAX_BODY_BYTES + 1 if rng.random() < 0.5 else MAX_BODY_BYTES - 16
    mutations.append(f"padded with spaces to {target} bytes")
    return body + b" " * max(0, target - len(body))


def _shown(literal: bytes) -> str:
    return literal.decode() if len(literal) <= 40 else f"{literal[:12].decode()}... ({len(literal)} chars)"
