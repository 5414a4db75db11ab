"""A VirtualService as Istio reads it: gateway references, routes, destinations, match coverage, durations.

Pure functions over the object's body; the rules in `webhook/rules/virtualservices.py` and
`webhook/rules/vs_routes.py` decide what is a finding.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from enum import StrEnum
from functools import lru_cache
from typing import Any, NamedTuple

from webhook.model import Body, as_dict, as_list, scalar_text

MESH = "mesh"
SECTIONS = ("http", "tcp", "tls")


# --- gateway references ---------------------------------------------------------------------------


class RefForm(StrEnum):
    MESH = "mesh"
    SHORT = "short"  # `name`: the VirtualService's namespace
    QUALIFIED = "qualified"  # `ns/name`
    RELATIVE = "relative"  # `./name`: rejected by Istio's webhook
    DOTTED = "dotted"  # `name.ns.svc.cluster.local`: legacy, Istio warns


class GatewayRef(NamedTuple):
    text: str
    path: str
    form: RefForm
    namespace: str
    name: str

    @property
    def qualified(self) -> str:
        return f"{self.namespace}/{self.name}"


def parse_gateway_ref(text: str, vs_namespace: str, path: str) -> GatewayRef:
    """Resolves a reference the way Istio does (`resolveGatewayName`)."""
    if text == MESH:
        return GatewayRef(text, path, RefForm.MESH, "", MESH)
    if "/" in text:
        namespace, _, name = text.partition("/")
        if namespace == ".":
            return GatewayRef(text, path, RefForm.RELATIVE, vs_namespace, name)
        return GatewayRef(text, path, RefForm.QUALIFIED, namespace, name)
    if "." in text:
        name, _, rest = text.partition(".")
        return GatewayRef(text, path, RefForm.DOTTED, rest.split(".", 1)[0], name)
    return GatewayRef(text, path, RefForm.SHORT, vs_namespace, text)


def gateway_refs(spec: Body, vs_namespace: str, routes: Iterable[Route]) -> list[GatewayRef]:
    """`spec.gateways` entries, then the per-match `gateways` of the routes (http, tcp and tls)."""
    refs = [
        parse_gateway_ref(str(text), vs_namespace, f"spec.gateways[{i}]")
        for i, text in enumerate(as_list(spec.get("gateways")))
        if isinstance(text, str) and text
    ]
    for route in routes:
        for match in route.matches:  # most matches name no gateway: looked for without enumerate()
            if "gateways" in match:
                break
        else:
            continue
        for m, match in enumerate(route.matches):
            gateways = match.get("gateways")
            if not isinstance(gateways, list):
                continue
            for g, text in enumerate(gateways):
                if isinstance(text, str) and text:
                    path = f"{route.path}.match[{m}].gateways[{g}]"
                    refs.append(parse_gateway_ref(text, vs_namespace, path))
    return refs


def hosts_of(spec: Body) -> list[str]:
    """`spec.hosts` as Istio compares them: trimmed, lowercase, empty entries left out."""
    return [h.strip().lower() for h in as_list(spec.get("hosts")) if isinstance(h, str) and h.strip()]


def bound_gateways(spec: Body) -> list[str]:
    """The gateways the VirtualService applies to; omitted means the mesh (sidecars)."""
    listed = [scalar_text(g) for g in as_list(spec.get("gateways")) if g]
    return listed or [MESH]


def applies_to_mesh(spec: Body) -> bool:
    return MESH in bound_gateways(spec)


# --- routes and destinations ----------------------------------------------------------------------


class Route:
    """One http, tcp or tls route: its body, its `match` entries, its section and its index there.
    A slotted class: a VirtualService's routes are built on every review, and a NamedTuple's
    constructor costs half as much again. Routes compare by identity (`Facts.conditions` keys)."""

    __slots__ = ("body", "index", "matches", "section")

    def __init__(self, section: str, index: int, body: Body, matches: list[Body]):
        self.section = section
        self.index = index
        self.body = body
        self.matches = matches

    @property
    def path(self) -> str:
        """`spec.http[0]`: written when a finding or a nested path needs it, not on every review."""
        return f"spec.{self.section}[{self.index}]"

    @property
    def label(self) -> str:
        name = self.body.get("name")
        return f'{self.path} ("{name}")' if isinstance(name, str) and name else self.path


_DICT = frozenset({dict})


def routes(spec: Body, section: str) -> list[Route]:
    entries = spec.get(section)
    if not isinstance(entries, list):
        return []
    found = []
    for index, raw in enumerate(entries):  # as_dict() inlined: this runs for every route of every review
        body = raw if isinstance(raw, dict) else {}
        match = body.get("match")
        if not isinstance(match, list):
            matches = []
        elif {*map(type, match)} <= _DICT:  # the usual list of mappings, read in place (checked at C speed)
            matches = match
        else:
            matches = [m if isinstance(m, dict) else {} for m in match]
        found.append(Route(section, index, body, matches))
    return found


def all_routes(spec: Body) -> Iterator[Route]:
    for section in SECTIONS:
        yield from routes(spec, section)


class Destination:
    """A route's `destination`, or a `mirror`: `host` trimmed ("" when it has none), `subset` ("" when
    it has none) and `port.number`, read once for the rules that compare them. `field` is where it
    sits in its route: `route`, `mirror` or `mirrors`, with `index` for the lists."""

    __slots__ = ("body", "field", "host", "index", "port", "route", "subset")

    def __init__(self, route: Route, field: str, index: int | None, body: Body):
        self.route = route
        self.field = field
        self.index = index
        self.body = body
        host, subset, port = body.get("host"), body.get("subset"), body.get("port")
        self.host = host.strip() if isinstance(host, str) else ""
        self.subset = subset if isinstance(subset, str) else ""
        number = port.get("number") if isinstance(port, dict) else None
        self.port = number if type(number) is int else as_int(number)  # the usual number without a call

    @property
    def mirror(self) -> bool:
        return self.field != "route"

    @property
    def path(self) -> str:
        """`spec.http[0].route[1].destination` or `spec.http[0].mirror`: written when a finding needs it."""
        if self.index is None:
            return f"{self.route.path}.{self.field}"
        return f"{self.route.path}.{self.field}[{self.index}].destination"


def destinations(routes: Iterable[Route]) -> list[Destination]:
    """Every destination of the routes (http, tcp and tls), plus http `mirror` and `mirrors`.
    as_list() and as_dict() are inlined: this runs for every destination of every review."""
    found = []
    for route in routes:
        body = route.body
        entries = body.get("route")
        if isinstance(entries, list):
            for j, entry in enumerate(entries):
                found.append(Destination(route, "route", j, _destination_of(entry)))
        if route.section != "http":
            continue
        if "mirror" in body and body["mirror"] is not None:
            found.append(Destination(route, "mirror", None, as_dict(body["mirror"])))
        if "mirrors" in body:
            for k, entry in enumerate(as_list(body["mirrors"])):
                found.append(Destination(route, "mirrors", k, _destination_of(entry)))
    return found


def _destination_of(entry: Any) -> Body:
    destination = entry.get("destination") if isinstance(entry, dict) else None
    return destination if isinstance(destination, dict) else {}


INT64_DIGITS = 19


def as_int(value: Any) -> int | None:
    """An integer field, or its decimal text (`"80"`, `" -1 "`); None for anything else, and for
    text beyond 64 bits, which no Istio field holds (int() of long text is slow, then refused)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    digits = text.removeprefix("-")
    significant = digits.lstrip("0")  # int() refuses long text even when it is mostly zeros
    if not (digits.isascii() and digits.isdigit()) or len(significant) > INT64_DIGITS:
        return None
    number = int(significant or "0")
    return -number if text.startswith("-") else number


# --- match coverage (MW306, MW307) ----------------------------------------------------------------

_LABEL_KEYS = frozenset({"name", "statPrefix"})  # names a match; not a condition
_SET_KEYS = frozenset({"gateways", "sniHosts", "destinationSubnets"})
_EVERY_PATH = {"prefix": "/"}
_NOT_CONDITIONS = _LABEL_KEYS | {"ignoreUriCase", "gateways"}  # each may be left out below


def match_conditions(routes: Iterable[Route], bound: list[str]) -> dict[Route, list[Body]]:
    """By route, the `conditions` of each of its matches. The usual match, whose every field is a
    condition, is its own conditions: it is checked at C speed and read in place, without a call."""
    found: dict[Route, list[Body]] = {}
    for route in routes:
        found[route] = kept = []
        for match in route.matches:
            if all(match.values()) and _NOT_CONDITIONS.isdisjoint(match) and match.get("uri") != _EVERY_PATH:
                kept.append(match)
            else:
                kept.append(conditions(match, route.section, bound))
    return found


def conditions(match: Body, section: str, bound: list[str]) -> Body:
    """A match's conditions: labels, empty values and conditions that narrow nothing left out.

    `uri: {prefix: /}` matches every path, and per-match `gateways` listing every gateway the
    VirtualService is bound to select nothing narrower, so neither is a condition.
    """
    found = {}
    for key, value in match.items():  # a loop, not a comprehension: one call fewer per match
        if value and key not in _LABEL_KEYS:  # a falsy value (null, false, 0, "", [], {}) is proto3's unset
            found[key] = value
    if section == "http" and found.get("uri") == _EVERY_PATH:
        del found["uri"]
    if "uri" not in found:
        found.pop("ignoreUriCase", None)
    gateways = found.get("gateways")
    if isinstance(gateways, list) and set(map(str, gateways)) >= set(bound):
        del found["gateways"]
    return found


def covers(earlier: Body, later: Body) -> bool:
    """Whether `earlier` (conditions) repeats or covers `later`: the same fields with equal values,
    except that an earlier uri `prefix` covers a later `prefix` or `exact` it begins, and an
    earlier list (sniHosts, gateways, subnets) covers a later one it contains."""
    if earlier.keys() != later.keys():
        return False
    for key, condition in earlier.items():
        other = later[key]
        if key == "uri":
            if not _string_match_covers(condition, other, fold=earlier.get("ignoreUriCase") is True):
                return False
        elif key in _SET_KEYS and isinstance(condition, list) and isinstance(other, list):
            if not set(map(str, other)) <= set(map(str, condition)):
                return False
        elif condition != other:
            return False
    return True


def _string_match_covers(earlier: Any, later: Any, fold: bool = False) -> bool:
    """`{prefix: /a}` covers `{prefix: /ab}` and `{exact: /a/b}`; otherwise only an equal match."""
    if type(earlier) is not dict or type(later) is not dict or len(earlier) != 1 or len(later) != 1:
        return bool(earlier == later)
    [(kind, value)], [(other_kind, other_value)] = earlier.items(), later.items()
    value = value if type(value) is str else _match_text(value)
    other_value = other_value if type(other_value) is str else _match_text(other_value)
    if fold:
        value, other_value = value.lower(), other_value.lower()
    if kind == other_kind and value == other_value:
        return True
    return kind == "prefix" and other_kind in ("prefix", "exact") and other_value.startswith(value)


def _match_text(value: Any) -> str:
    return scalar_text(value) if isinstance(value, (list, dict)) else str(value)


def describe_match(match: Body) -> str:
    shown = {k: v for k, v in match.items() if k not in _LABEL_KEYS}
    return ", ".join(f"{k}: {_compact(v)}" for k, v in shown.items()) or "{}"


def _compact(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_compact(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_compact(v) for v in value) + "]"
    return str(value)


# --- durations (MW309) ----------------------------------------------------------------------------

_UNIT_NANOSECONDS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # U+00B5 micro sign
    "μs": 1_000,  # U+03BC Greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_MAX_NANOSECONDS = 1 << 63  # Go's Duration is an int64 of nanoseconds
_MAX_DIGITS = len(str(_MAX_NANOSECONDS))
_NUMBER_CHARS = "0123456789."
_UNIT_CHARS = "".join(sorted(set("".join(_UNIT_NANOSECONDS))))
_BLANK_NUMBERS = str.maketrans(dict.fromkeys(_NUMBER_CHARS, " "))
_BLANK_UNITS = str.maketrans(dict.fromkeys(_UNIT_CHARS, " "))
_DROP_DURATION_CHARS = str.maketrans(dict.fromkeys(_NUMBER_CHARS + _UNIT_CHARS))
_CACHED_LENGTH = 32
# Longest fraction digits that can matter: past 20 digits the fraction overflows 63 bits, or has
# 20 leading zeros and so adds less than a nanosecond even to hours.
_FRACTION_DIGITS = 40


def parse_duration(value: Any) -> float | None:
    """Seconds of a Go-style duration (`10s`, `250ms`, `1m30s`, `1.5h`), or None when it is not one."""
    if not isinstance(value, str):
        return None
    # The same few durations recur across routes and objects; long text is not kept in the cache.
    return _cached_seconds(value) if len(value) <= _CACHED_LENGTH else _seconds(value)


def _seconds(value: str) -> float | None:
    nanoseconds = go_nanoseconds(value)
    return None if nanoseconds is None else nanoseconds / 1e9


def go_nanoseconds(value: str) -> int | None:
    """Go's time.ParseDuration (surrounding spaces aside), in nanoseconds: `[-+]?([0-9]*(\\.[0-9]*)?unit)+`
    or `0`, at most 2^63-1 ns. Linear in the length: the text is cut into numbers and units with
    string methods, and each distinct part is valued once."""
    text = value.strip()
    negative = text.startswith("-")
    text = text[1:] if text.startswith(("-", "+")) else text
    if text == "0":
        return 0
    if not text or text.translate(_DROP_DURATION_CHARS) or text[0] not in _NUMBER_CHARS:
        return None
    if text[-1] in _NUMBER_CHARS:
        return None  # a number without its unit
    numbers, units = text.translate(_BLANK_UNITS).split(), text.translate(_BLANK_NUMBERS).split()
    total = 0
    for (number, unit), count in Counter(zip(numbers, units, strict=True)).items():
        part = _part_nanoseconds(number, unit)
        if part is None:
            return None
        total += part * count
    if total > _MAX_NANOSECONDS or (total == _MAX_NANOSECONDS and not negative):
        return None
    return -total if negative else total


_cached_seconds = lru_cache(maxsize=1024)(_seconds)


def _part_nanoseconds(number: str, unit: str) -> int | None:
    """One `1.5h` of a duration, as Go values it: whole units exactly, the fraction through a float."""
    unit_nanoseconds = _UNIT_NANOSECONDS.get(unit)
    whole, _, fraction = number.partition(".")
    if unit_nanoseconds is None or "." in fraction or not (whole or fraction):
        return None
    significant = whole.lstrip("0")
    if len(significant) > _MAX_DIGITS:
        return None
    nanoseconds = int(significant or "0") * unit_nanoseconds
    if fraction:
        digits, scale = _leading_fraction(fraction)
        nanoseconds += int(digits * (unit_nanoseconds / scale))
    return nanoseconds if nanoseconds <= _MAX_NANOSECONDS else None


def _leading_fraction(fraction: str) -> tuple[int, float]:
    """Go's leadingFraction: the fraction's digits that fit in 63 bits, and 10 to their count."""
    digits, scale = 0, 1.0
    for char in fraction[:_FRACTION_DIGITS]:
        if digits > (_MAX_NANOSECONDS - 1) // 10 or digits * 10 + int(char) > _MAX_NANOSECONDS:
            break
        digits, scale = digits * 10 + int(char), scale * 10
    return digits, scale
