"""The pod annotation and label values Istio's sidecar injector accepts, and evident corrections.

Each check mirrors the injector's own parser: ports are trimmed and parsed as uint16 (no ranges),
CIDRs are parsed untrimmed (`a/8, b/16` fails), booleans follow Go's strconv.ParseBool, quantities
follow Kubernetes' resource.ParseQuantity.

Annotation values are free text of up to 256 KiB, so every parser here is a single pass of string
methods (no backtracking regular expressions), and int() only ever sees a few digits.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import NamedTuple

from webhook.istio.mesh import GO_FALSE, GO_TRUE, INJECT_KEY, REWRITE_PROBES_ANNOTATION

MAX_PORT = 65535
MAX_UINT32 = 2**32 - 1
MAX_EXPANDED_RANGE = 16
READINESS_PREFIX = "readiness.status.sidecar.istio.io/"
INTERCEPTION_MODES = ("REDIRECT", "TPROXY", "NONE")

_NUMBER_CHARS = "0123456789."
_BINARY_SUFFIXES = frozenset({"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"})
_DECIMAL_SUFFIXES = frozenset("numkMGTPE")
_LOOSE_TRUE = frozenset({"true", "t", "1", "yes", "y", "on", "enabled"})
_LOOSE_FALSE = frozenset({"false", "f", "0", "no", "n", "off", "disabled"})


class Invalid(NamedTuple):
    """Why a value is refused, the corrected value when one is evident, and what is accepted.
    `exact` is false when the correction picks one of two readings (`128mb`: 128Mi or 128M?)."""

    problem: str
    corrected: str | None
    expected: str
    exact: bool = True


Validator = Callable[[str], Invalid | None]

SHOWN_LENGTH = 40


def shown(value: str) -> str:
    """A value double-quoted (as YAML reads it) for a one-line message, cut short when long."""
    return json.dumps(
        value if len(value) <= SHOWN_LENGTH else value[: SHOWN_LENGTH - 3] + "...", ensure_ascii=False
    )


def is_port(text: str) -> bool:
    return _bounded_int(text.strip(), MAX_PORT)


def is_digits(text: str) -> bool:
    """One or more ASCII decimal digits (str.isdigit alone also accepts "²" and "٣")."""
    return text.isascii() and text.isdigit()


def _bounded_int(text: str, limit: int) -> bool:
    """Decimal digits only (as Go's ParseUint), at most `limit`; huge inputs never reach int()."""
    digits = text.lstrip("0") or "0"
    return is_digits(text) and len(digits) <= len(str(limit)) and int(digits) <= limit


def is_cidr(text: str) -> bool:
    address, slash, bits = text.partition("/")
    canonical_bits = bits == "0" or (len(bits) <= 3 and is_digits(bits) and not bits.startswith("0"))
    parsed = _ip(address) if slash and canonical_bits else None
    return parsed is not None and int(bits) <= parsed.max_prefixlen


def port_list(*, star: bool) -> Validator:
    expected = "comma-separated port numbers" + (", or *" if star else "")

    def check(value: str) -> Invalid | None:
        if star and value == "*":
            return None
        items = _entries(value.strip()) if value.strip() else []
        bad = next((item for item in items if not is_port(item)), None)
        if bad is None:
            return None
        if star and value.strip() == "*":
            return Invalid("spaces around *", "*", expected)
        return Invalid(_port_problem(bad, star), _corrected_ports(items), expected)

    return check


def _entries(value: str) -> list[str]:
    """The comma-separated entries, each once: a repeated entry means nothing more to check."""
    return list(dict.fromkeys(value.split(",")))


def _port_problem(item: str, star: bool) -> str:
    text = item.strip()
    if not text:
        return "it has an empty entry"
    if text == "*":
        return "* is not a port (only includeInboundPorts accepts *)" if not star else "* must stand alone"
    if _port_range(text):
        return f"{shown(text)} is a range, and ports must be listed one by one"
    return f"{shown(text)} is not a port number (0-{MAX_PORT})"


def _corrected_ports(items: list[str]) -> str | None:
    ports: list[str] = []
    for item in items:
        text = item.strip()
        found = _port_range(text)
        if not text:
            continue
        if is_port(text):
            ports.append(str(int(text)))
        elif found and is_port(found[0]) and is_port(found[1]):
            low, high = int(found[0]), int(found[1])
            if not 0 < high - low < MAX_EXPANDED_RANGE:
                return None
            ports.extend(str(p) for p in range(low, high + 1))
        else:
            return None
    return ",".join(dict.fromkeys(ports)) if ports else None


def _port_range(text: str) -> tuple[str, str] | None:
    """The two ends of `8000-8002` (spaces allowed around each), when the text is a range."""
    low, dash, high = text.partition("-")
    low, high = low.strip(), high.strip()
    return (low, high) if dash and is_digits(low) and is_digits(high) else None


def cidr_list(*, star: bool) -> Validator:
    expected = "comma-separated CIDRs without spaces" + (", or *" if star else "")

    def check(value: str) -> Invalid | None:
        if (star and value == "*") or not value:
            return None
        items = _entries(value)
        bad = next((item for item in items if not is_cidr(item)), None)
        if bad is None:
            return None
        if star and value.strip() == "*":
            return Invalid("spaces around *", "*", expected)
        return Invalid(_cidr_problem(bad, star), _corrected_cidrs(items), expected)

    return check


def _cidr_problem(item: str, star: bool) -> str:
    text = item.strip()
    if not text:
        return "it has an empty entry"
    if text != item and is_cidr(text):
        return f"{shown(item)} has spaces, and the injector does not trim them"
    if text == "*":
        return (
            "* is not a CIDR (only includeOutboundIPRanges accepts *)" if not star else "* must stand alone"
        )
    if _ip(text) is not None:
        return f"{shown(text)} has no prefix length"
    return f"{shown(text)} is not a CIDR (address/prefix-length)"


def _corrected_cidrs(items: list[str]) -> str | None:
    cidrs: list[str] = []
    for item in items:
        text = item.strip()
        if not text:
            continue
        if is_cidr(text):
            cidrs.append(text)
        elif (address := _ip(text)) is not None:
            cidrs.append(f"{text}/{address.max_prefixlen}")
        else:
            return None
    return ",".join(dict.fromkeys(cidrs)) if cidrs else None


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address, as the injector's netip.ParsePrefix reads it: no zone (`%eth0`)."""
    if "%" in text:
        return None
    try:  # the one class that can parse it: ip_address() would try IPv4 first and raise
        return ipaddress.IPv6Address(text) if ":" in text else ipaddress.IPv4Address(text)
    except ValueError:
        return None


def go_bool(value: str) -> Invalid | None:
    if value in GO_TRUE or value in GO_FALSE:
        return None
    return Invalid(f"{shown(value)} is not a boolean", loose_bool(value), '"true" or "false"')


def loose_bool(value: str) -> str | None:
    """The boolean a person evidently meant ("True", "yes", "on"), as `true`/`false`."""
    text = value.strip().lower()
    if text in _LOOSE_TRUE:
        return "true"
    if text in _LOOSE_FALSE:
        return "false"
    return None


def inject_label(value: str) -> Invalid | None:
    if value in ("true", "false"):
        return None
    problem = f'{shown(value)} is neither "true" nor "false", and Istio compares the exact text'
    return Invalid(problem, loose_bool(value), '"true" or "false"')


def interception_mode(value: str) -> Invalid | None:
    if value in INTERCEPTION_MODES:
        return None
    corrected = value.strip().upper()
    problem = f"{shown(value)} is not an interception mode"
    return Invalid(
        problem, corrected if corrected in INTERCEPTION_MODES else None, ", ".join(INTERCEPTION_MODES)
    )


def port(value: str) -> Invalid | None:
    if is_port(value):
        return None
    return Invalid(f"{shown(value.strip())} is not a port number (0-{MAX_PORT})", None, "a port number")


def uint32(value: str) -> Invalid | None:
    if _bounded_int(value, MAX_UINT32):
        return None
    number = value.strip()
    number = number.removesuffix("s").rstrip()  # "10s", "10 s": seconds written with their unit
    corrected = number if _bounded_int(number, MAX_UINT32) else None
    return Invalid(
        f"{shown(value)} is not a whole non-negative number", corrected, "a whole number such as 10"
    )


def quantity(value: str) -> Invalid | None:
    if is_quantity(value) and not value.startswith("-"):
        return None
    problem = (
        f"{shown(value)} is negative"
        if is_quantity(value)
        else f"{shown(value)} is not a Kubernetes quantity"
    )
    corrected, exact = _corrected_quantity(value)
    return Invalid(problem, corrected, 'a Kubernetes quantity such as "100m" or "128Mi"', exact)


def is_quantity(text: str) -> bool:
    """resource.ParseQuantity's grammar: a signed decimal number (`1`, `1.5`, `.5`, `5.`), then
    nothing, a binary suffix (`Ki` … `Ei`), a decimal one (`n u m k M G T P E`) or an exponent."""
    unsigned = text[1:] if text.startswith(("+", "-")) else text
    number, suffix = _split_number(unsigned)
    whole, _, fraction = number.partition(".")
    if not (whole or fraction) or not _digits_or_empty(whole) or not _digits_or_empty(fraction):
        return False
    if suffix in _BINARY_SUFFIXES or suffix in _DECIMAL_SUFFIXES or not suffix:
        return True
    exponent = suffix[2:] if suffix[1:2] in ("+", "-") else suffix[1:]
    return suffix[0] in "eE" and is_digits(exponent)


def _split_number(text: str) -> tuple[str, str]:
    """The leading run of digits and dots, and the rest."""
    rest = text.lstrip(_NUMBER_CHARS)
    return text[: len(text) - len(rest)], rest


def _digits_or_empty(text: str) -> bool:
    return not text or is_digits(text)


def _corrected_quantity(value: str) -> tuple[str | None, bool]:
    """The quantity meant, and whether it is the only reading: spaces dropped, or a `B` dropped
    after a binary unit (`512MiB`); "128mb" (binary, most likely) and "128MB" (decimal megabytes)
    are readings, not certainties."""
    text = value.strip().replace(" ", "")
    typo = _memory_unit(text)
    binary = f"{typo[0]}{typo[1].upper()}i" if typo else ""
    prefer_binary = typo is not None and (typo[1].islower() or typo[2])
    candidates = [text, binary if prefer_binary else "", text.rstrip("Bb"), binary]
    corrected = next((c for c in candidates if is_quantity(c) and not c.startswith("-")), None)
    return corrected, corrected == text or (typo is not None and typo[2] and corrected == binary)


def _memory_unit(text: str) -> tuple[str, str, bool] | None:
    """`128mb`, `512MiB`, `2G`: the number, the unit letter, and whether an `i` follows it."""
    number, rest = _split_number(text)
    unit, rest = rest[:1], rest[1:]
    binary = rest[:1] in ("i", "I")
    if binary:
        rest = rest[1:]
    if not number or not unit or unit.lower() not in "kmgtpe" or rest not in ("", "b", "B"):
        return None
    return number, unit, binary


TYPOGRAPHIC_QUOTES = "“”„‟‘’‚‛«»‹›"


def unquoting(check: Validator) -> Validator:
    """`check`, and for a value wrapped in typographic quotes (pasted from a document, where YAML
    keeps them as part of the value), the value within as the correction."""

    def validate(value: str) -> Invalid | None:
        invalid = check(value)
        text = value.strip()
        if (
            invalid is None
            or len(text) < 2
            or text[0] not in TYPOGRAPHIC_QUOTES
            or text[-1] not in TYPOGRAPHIC_QUOTES
        ):
            return invalid
        within = text[1:-1]
        inner = check(within)
        problem = f"{shown(value)} is wrapped in typographic quotes, which are part of the value"
        if inner is None:
            return invalid._replace(problem=problem, corrected=within, exact=True)
        return invalid._replace(problem=problem, corrected=inner.corrected, exact=inner.exact)

    return validate


# Pod annotations the injector validates (rules.md, MW103), by key.
ANNOTATION_VALIDATORS: Mapping[str, Validator] = {
    key: unquoting(check)
    for key, check in {
        "traffic.sidecar.istio.io/includeInboundPorts": port_list(star=True),
        "traffic.sidecar.istio.io/excludeInboundPorts": port_list(star=False),
        "traffic.sidecar.istio.io/excludeOutboundPorts": port_list(star=False),
        "traffic.sidecar.istio.io/includeOutboundPorts": port_list(star=False),
        "traffic.sidecar.istio.io/includeOutboundIPRanges": cidr_list(star=True),
        "traffic.sidecar.istio.io/excludeOutboundIPRanges": cidr_list(star=False),
        "sidecar.istio.io/interceptionMode": interception_mode,
        REWRITE_PROBES_ANNOTATION: go_bool,
        "status.sidecar.istio.io/port": port,
        "sidecar.istio.io/proxyCPU": quantity,
        "sidecar.istio.io/proxyMemory": quantity,
        "sidecar.istio.io/proxyCPULimit": quantity,
        "sidecar.istio.io/proxyMemoryLimit": quantity,
    }.items()
}
READINESS_VALIDATOR = unquoting(uint32)

LABEL_VALIDATORS: Mapping[str, Validator] = {INJECT_KEY: inject_label}


@lru_cache(maxsize=4096)  # the same few keys come on every pod
def annotation_validator(key: str) -> Validator | None:
    found = ANNOTATION_VALIDATORS.get(key)
    if found is not None:
        return found
    name = key.removeprefix(READINESS_PREFIX)
    if name != key and (name.endswith("Seconds") or name == "failureThreshold"):
        return READINESS_VALIDATOR
    return None
