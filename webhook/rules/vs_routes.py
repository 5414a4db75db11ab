"""VirtualService rules about the routes themselves (MW306, MW307, MW309)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from webhook.findings import Action, Autofix, Edit, Lookup, Safety, Violation
from webhook.inventory import InventoryView
from webhook.inventory.detail import Detail
from webhook.istio.hosts import EXPORT_ANNOTATION, covering_hosts, parse_export_to, visible_from
from webhook.istio.protocols import HTTP_ROUTED, entry_port_protocol, service_port_protocol
from webhook.istio.virtualservice import (
    MESH,
    Route,
    as_int,
    covers,
    describe_match,
    parse_duration,
)
from webhook.kinds import SERVICE, SERVICE_ENTRY
from webhook.kube import CLUSTER_SUFFIX, fqdn
from webhook.model import Body, Resource, as_dict, as_list, scalar_text
from webhook.rules.edits import field_path
from webhook.rules.facts import Facts
from webhook.rules.registry import Context, Input, rule
from webhook.rules.virtualservices import VS_KINDS, q

MIN_DURATION = 0.001
FLOW_WIDTH = float("inf")  # one line, however long the host


# --- MW306 -------------------------------------------------------------------------------------------

_Earlier = dict[frozenset[str], list[tuple[Route, Body]]]  # routes' match conditions, by their fields


@rule(
    code="MW306",
    name="vs-unreachable-route",
    kinds=VS_KINDS,
    default=Action.WARN,
    messages={
        "after-catch-all": "the route follows a route without match, which takes every request",
        "match-covered": "each match of the route repeats or is covered by a match of an earlier route",
    },
    summary="""
        Finds http, tcp and tls routes that can never match: they follow a route without
        `match` (a catch-all), or each of their matches repeats or is covered by a match of an
        earlier route (the same conditions, or an earlier `prefix` that is a prefix of the later
        `prefix`/`exact` with no other condition narrower). A match's `name` is a label, not a
        condition.
    """,
    why="""
        Routes are tried top to bottom and the first match wins. A route below a catch-all, or
        below a broader prefix, never receives traffic: the canary, header-based or fault rule
        it was written for silently does nothing.
    """,
    fix="""
        Put specific routes before general ones (the catch-all last), or delete the dead route.
    """,
    bad="""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews, namespace: shop}
        spec:
          hosts: ["reviews"]
          http:
          - match:
            - uri: {prefix: /api}
            route:
            - destination: {host: reviews, subset: v1}
          - match:
            - uri: {prefix: /api/v2}
            route:
            - destination: {host: reviews, subset: v2}
          - route:
            - destination: {host: reviews, subset: v1}
    """,
    good="""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews, namespace: shop}
        spec:
          hosts: ["reviews"]
          http:
          - match:
            - uri: {prefix: /api/v2}
            route:
            - destination: {host: reviews, subset: v2}
          - match:
            - uri: {prefix: /api}
            route:
            - destination: {host: reviews, subset: v1}
          - route:
            - destination: {host: reviews, subset: v1}
    """,
)
def vs_unreachable_route(vs: Resource, context: Context) -> Iterator[Violation]:
    facts = context.facts(vs)
    conditions = facts.conditions
    for routes in facts.routes.values():
        # Earlier routes' match conditions, by the fields they test: only a match testing the same
        # fields can cover another.
        earlier: _Earlier = {}
        catch_all: Route | None = None
        for route in routes:
            if catch_all is not None:
                yield Violation(
                    route.path,
                    f"{route.label} can never match: {catch_all.label} before it has no match condition "
                    "and takes every request",
                    f"move {route.path} above {catch_all.path}, or delete it",
                    message_id="after-catch-all",
                )
                continue
            matches = conditions[route]
            if not matches or not all(matches):  # no match, or a match without condition: every request
                catch_all = route
                continue
            covering = _covering_routes(earlier, route, matches)
            if covering:
                first = {r.path: r for r in covering}
                shown = "; ".join(describe_match(m) for m in route.matches)
                yield Violation(
                    route.path,
                    f"{route.label} can never match: its match ({shown}) repeats or is covered by "
                    f"{', '.join(r.label for r in first.values())}",
                    f"move {route.path} above {', '.join(first)}, narrow the earlier match, or delete it",
                    message_id="match-covered",
                )


def _covering_routes(earlier: _Earlier, route: Route, matches: list[Body]) -> list[Route]:
    """For each match of `route`, the first earlier route whose match covers it; [] unless every
    match is covered. The route's matches are then earlier for the routes after it."""
    found: list[Route] | None = []
    for match in matches:
        same_fields = earlier.setdefault(frozenset(match), [])
        if found is not None:
            for other, conditions in same_fields:
                if other is not route and covers(conditions, match):
                    found.append(other)
                    break
            else:
                found = None
        same_fields.append((route, match))
    return found or []


# --- MW307 -------------------------------------------------------------------------------------------


def _mesh_conditions(match: Body) -> Body | None:
    """A match's conditions for in-mesh requests; None when it applies to other gateways only."""
    gateways = match.get("gateways")
    if gateways is None:
        return match
    if MESH not in as_list(gateways):
        return None
    return {key: value for key, value in match.items() if key != "gateways"}


def _takes_mesh_requests(route: Route, facts: Facts) -> bool:
    """A catch-all for in-mesh requests: no match, or a match with no condition besides `gateways: [mesh]`."""
    return not route.matches or any(_mesh_conditions(m) == {} for m in facts.conditions[route])


def _matched_ports(facts: Facts) -> set[int]:
    """Ports that some route takes whole: a match whose only condition is `port`."""
    ports = set()
    for route in facts.http:
        for match in facts.conditions[route]:
            found = _mesh_conditions(match)
            number = as_int(found.get("port")) if found is not None and found.keys() == {"port"} else None
            if number is not None:
                ports.add(number)
    return ports


class _HostPorts(NamedTuple):
    """The ports of a VirtualService's hosts that reach http routes; `unknown` hosts have no
    Service or ServiceEntry visible from the VirtualService's namespace."""

    http: set[int]
    unknown: list[str]


def _http_ports(vs: Resource, hosts: list[str], inventory: InventoryView) -> _HostPorts:
    http: set[int] = set()
    unknown = []
    for host in hosts:
        host_fqdn = fqdn(host, vs.namespace)
        services = [
            s
            for s in inventory.services_for_host(host_fqdn)
            if visible_from(parse_export_to(s.annotations.get(EXPORT_ANNOTATION)), s.namespace, vs.namespace)
        ]
        entries = [
            e
            for form in covering_hosts(host_fqdn)
            for e in inventory.service_entries_for_host(form)
            if visible_from(parse_export_to(e.spec.get("exportTo")), e.namespace, vs.namespace)
        ]
        if not services and not entries:
            unknown.append(host_fqdn)
        for service in services:
            http.update(_numbers(service, "port", service_port_protocol))
        for entry in entries:
            http.update(_numbers(entry, "number", entry_port_protocol))
    return _HostPorts(http, unknown)


def _numbers(resource: Resource, field: str, protocol: Callable[[Body], str | None]) -> Iterator[int]:
    for port in as_list(resource.spec.get("ports")):
        port = as_dict(port)
        number = as_int(port.get(field))
        if number is not None and protocol(port) in HTTP_ROUTED:
            yield number


def _ports_text(ports: Iterable[int]) -> str:
    ordered = sorted(ports)
    return ("port " if len(ordered) == 1 else "ports ") + ", ".join(map(str, ordered))


def _host_lookup(host_fqdn: str) -> Lookup:
    """The object whose absence leaves a host's ports unknown: its Service, or any ServiceEntry."""
    labels = host_fqdn.removesuffix(CLUSTER_SUFFIX).split(".")
    if host_fqdn.endswith(CLUSTER_SUFFIX) and len(labels) == 2:
        return Lookup(SERVICE, labels[1], labels[0])
    return Lookup(SERVICE_ENTRY, "")


@rule(
    code="MW307",
    name="vs-no-default-route",
    kinds=VS_KINDS,
    default=Action.WARN,
    inputs=(Input(SERVICE, Detail.SPEC, optional=True), Input(SERVICE_ENTRY, Detail.SPEC, optional=True)),
    messages={
        "no-default-route": "every http route has a match",
        "ports-unknown": "every http route has a match, and the `port` matches may cover every HTTP port, "
        "but no Service or ServiceEntry in the inputs tells the host's ports",
        "http-port-left-out": "every http route has a match, and the `port` matches leave an HTTP port of "
        "the host out",
    },
    fixes={
        "no-default-route": Safety.UNSAFE,
        "ports-unknown": Safety.UNSAFE,
        "http-port-left-out": Safety.UNSAFE,
    },
    summary="""
        Checks that a VirtualService that applies to the mesh (no `gateways`, or `mesh` listed)
        ends with a default route: at least one http route without `match`. A match whose only
        condition is `uri: {prefix: /}` counts as no match, and so do matches on `port` alone
        when together they take every HTTP port of the host (the ports of its Service or
        ServiceEntry whose protocol, `appProtocol` or name prefix is http, http2, grpc or
        grpc-web: only those reach http routes). Gateway-only VirtualServices are exempt.
    """,
    why="""
        Inside the mesh, the VirtualService replaces the Service's default routing for its host.
        When every route has a match, a request that matches none gets 404 from the sidecar
        instead of reaching the service, e.g. a new path or a client that omits a header.
    """,
    fix="""
        End `http` with a route without `match` (or a weight-only route) that sends everything
        else to the service. When every route sends to the one host the VirtualService is for,
        that route is the exact fix, unsafe: to the host without a subset, so requests that match
        no route reach the service as if the VirtualService were not there, instead of 404.
    """,
    bad="""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews, namespace: shop}
        spec:
          hosts: ["reviews"]
          http:
          - match:
            - headers: {end-user: {exact: jason}}
            route:
            - destination: {host: reviews, subset: v2}
    """,
    good="""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews, namespace: shop}
        spec:
          hosts: ["reviews"]
          http:
          - match:
            - headers: {end-user: {exact: jason}}
            route:
            - destination: {host: reviews, subset: v2}
          - route:
            - destination: {host: reviews}
    """,
)
def vs_no_default_route(vs: Resource, context: Context) -> Iterator[Violation]:
    facts = context.facts(vs)
    http = facts.http
    if not http or not facts.applies_to_mesh:
        return
    if any(_takes_mesh_requests(route, facts) for route in reversed(http)):  # a default route is last
        return
    message = (
        "the only http route has" if len(http) == 1 else f"all {len(http)} http routes have"
    ) + " a match, so an in-mesh request that matches none gets 404 instead of reaching the service"
    default = _default_route(vs, facts)
    if default is not None:
        route = _flow(default)
        fix = f"end spec.http with a route without match: `- {route}`"
        append = Edit(("spec", "http", len(as_list(vs.spec["http"]))), None, default)
        autofix = Autofix(f"add the route `{route}` at the end of spec.http", (append,), Safety.UNSAFE)
    else:
        last = as_list(http[-1].body.get("route"))
        host = scalar_text(
            as_dict(as_dict(last[0] if last else {}).get("destination")).get("host") or "<service>"
        )
        fix = f"end spec.http with a route without match, e.g. `- route: [{{destination: {{host: {host}}}}}]`"
        autofix = None
    missing: tuple[Lookup, ...] = ()
    message_id = "no-default-route"
    matched = _matched_ports(facts)
    if matched:
        ports = _http_ports(vs, facts.hosts, context.inventory)
        left_out = ports.http - matched
        if ports.http and not left_out and not ports.unknown:
            return
        if ports.unknown:
            message += (
                f"; the routes take {_ports_text(matched)} whole, and no Service or ServiceEntry for "
                f"{', '.join(ports.unknown)} in the inputs tells whether that is every HTTP port"
            )
            missing = tuple(dict.fromkeys(_host_lookup(h) for h in ports.unknown))
            message_id = "ports-unknown"
        elif left_out:
            message += f"; the routes take {_ports_text(matched)} whole, but not HTTP {_ports_text(left_out)}"
            fix += f", or match {_ports_text(left_out)} too"
            message_id = "http-port-left-out"
    yield Violation("spec.http", message, fix, message_id=message_id, missing=missing, autofix=autofix)


def _default_route(vs: Resource, facts: Facts) -> Body | None:
    """The route a request that matches none should take, when it is exact: every http route sends
    to the one host the VirtualService is for (and to one port, or never names one), so the default
    is that host, as if the VirtualService were not there."""
    hosts = {fqdn(host, vs.namespace) for host in facts.hosts}
    targets = [
        as_dict(as_dict(entry).get("destination"))
        for route in facts.http
        for entry in as_list(route.body.get("route"))
    ]
    written = [scalar_text(t.get("host") or "").strip() for t in targets]
    ports = {scalar_text(as_dict(t.get("port")).get("number")) for t in targets}
    if not targets or len(hosts) != 1 or {fqdn(h, vs.namespace) for h in written} != hosts or len(ports) != 1:
        return None
    destination: Body = {"host": written[0]}
    number = as_int(ports.pop())
    if number is not None:
        destination["port"] = {"number": number}
    return {"route": [{"destination": destination}]}


def _flow(value: object) -> str:
    """A small map in YAML flow style, on one line, as a fix shows it."""
    import yaml  # a finding's text needs it, a clean check does not

    return yaml.safe_dump(value, default_flow_style=True, width=FLOW_WIDTH).strip()


# --- MW309 -------------------------------------------------------------------------------------------


class _Problem(NamedTuple):
    message_id: str
    text: str


def _duration_problem(value: Any, seconds: float | None) -> _Problem:
    """What is wrong with a duration `value` that parsed to `seconds` (None: it did not parse),
    shorter than 1ms or no duration at all."""
    if seconds is None:
        text = f'{q(value)} is not a Go-style duration (e.g. "10s", "250ms", "1m")'
        return _Problem(message_id="not-a-duration", text=text)
    return _Problem(message_id="duration-below-1ms", text=f"{q(value)} is shorter than 1ms")


# A number with no unit or a unit spelt out: each has one meaning (a bare number is seconds, as in
# the protobuf JSON form of a duration). A capital `M` is not here: minutes or months?
_WRITTEN_DURATION = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*")
_UNIT_SPELLINGS = {
    **dict.fromkeys(("", "s", "sec", "secs", "second", "seconds"), "s"),
    **dict.fromkeys(("ms", "msec", "msecs", "millisecond", "milliseconds"), "ms"),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), "m"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "h"),
}
_WRITTEN_DURATION_LENGTH = 32


def _meant_duration(value: object) -> str | None:
    """The Go-style duration a value evidently means (`5` and `"5"` are `5s`, `"10 sec"` is `10s`),
    when it means exactly one of at least 1ms."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value)
    written = _WRITTEN_DURATION.fullmatch(text) if len(text) <= _WRITTEN_DURATION_LENGTH else None
    unit = _UNIT_SPELLINGS.get(written[2].lower()) if written else None
    if written is None or unit is None:
        return None
    meant = written[1] + unit
    seconds = parse_duration(meant)
    return meant if seconds is not None and seconds >= MIN_DURATION else None


def _check_duration(route: Route, value: Any, field: str) -> list[Violation]:
    """`value` of the route's `field` (`retries.perTryTimeout`), None when unset. A list, not a
    generator, as the other checks of MW309: most routes are fine, and a generator costs more to
    start than an empty list. Paths are written only for a finding."""
    if value is None:
        return []
    seconds = parse_duration(value)
    if seconds is not None and seconds >= MIN_DURATION:
        return []
    path = f"{route.path}.{field}"
    problem = _duration_problem(value, seconds)
    meant = _meant_duration(value) if problem.message_id == "not-a-duration" else None
    if meant is None:
        fix = f'set {field} to a duration of at least 1ms with a unit, e.g. "10s"'
        autofix = None
    else:
        fix = f"set {field} to {q(meant)}"
        edit = Edit(field_path(path), value, meant)
        autofix = Autofix(f"set {path} to {q(meant)}", (edit,), Safety.SAFE)
    return [Violation(path, f"{field} {problem.text}", fix, message_id=problem.message_id, autofix=autofix)]


def _check_percentage(route: Route, body: Body, field: str) -> list[Violation]:
    found = []
    for key in ("percentage", "percent"):
        if key not in body or body[key] is None:
            continue
        value = as_dict(body[key]).get("value") if key == "percentage" else body[key]
        number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
        if number is None or not 0 < number <= 100:
            where = f"{route.path}.{field}.{key}" + (".value" if key == "percentage" else "")
            shown = "is unset and" if value is None else scalar_text(value)
            found.append(
                Violation(
                    where,
                    f"{field}.{key} {shown} is outside (0, 100]",
                    f"set {field}.{key} to a value above 0 and at most 100, e.g. 10",
                    message_id="percentage-out-of-range",
                )
            )
    return found


def _check_retries(route: Route) -> list[Violation]:
    retries = as_dict(route.body.get("retries"))
    if not retries:
        return []
    found = _check_duration(route, retries.get("perTryTimeout"), "retries.perTryTimeout")
    attempts = as_int(retries.get("attempts")) if "attempts" in retries else 0
    if attempts is None:
        return found
    if attempts < 0:
        found.append(
            Violation(
                f"{route.path}.retries.attempts",
                f"retries.attempts is {attempts}; it must be 0 or more",
                "set retries.attempts to 0 (no retries) or a positive number, e.g. 3",
                message_id="attempts-negative",
            )
        )
        return found
    per_try, retry_on = retries.get("perTryTimeout"), retries.get("retryOn")
    if attempts == 0 and (per_try or retry_on):
        given = ", ".join(f"{k} {q(v)}" for k, v in (("perTryTimeout", per_try), ("retryOn", retry_on)) if v)
        state = "0" if "attempts" in retries else "not set (0)"
        found.append(
            Violation(
                f"{route.path}.retries" + (".attempts" if "attempts" in retries else ""),
                f"retries.attempts is {state}, which disables retries, but {given} is set; Istio rejects "
                "this",
                "set retries.attempts to the number of retries, e.g. 3, or remove perTryTimeout and retryOn",
                message_id="retries-disabled-but-configured",
            )
        )
        return found
    timeout, per_try_seconds = parse_duration(route.body.get("timeout")), parse_duration(per_try)
    if attempts and timeout and per_try_seconds and attempts * per_try_seconds > timeout + 1e-9:
        budget = int(timeout / attempts * 1000)
        found.append(
            Violation(
                f"{route.path}.retries",
                f"{attempts} attempts × perTryTimeout {q(per_try)} = {attempts * per_try_seconds:g}s exceed "
                f"the route timeout {q(route.body.get('timeout'))}: the last retries can never run",
                f"raise timeout to at least {attempts * per_try_seconds:g}s, or lower perTryTimeout to "
                f"{q(str(budget) + 'ms')} or attempts",
                message_id="retries-exceed-timeout",
                weak=True,
            )
        )
    return found


def _check_fault(route: Route) -> list[Violation]:
    if route.body.get("fault") is None:
        return []
    fault = as_dict(route.body.get("fault"))
    delay, abort = as_dict(fault.get("delay")), as_dict(fault.get("abort"))
    found = []
    if not delay and not abort:
        found.append(
            Violation(
                f"{route.path}.fault",
                "fault has neither delay nor abort, so it injects nothing",
                "add fault.delay (fixedDelay, percentage) or fault.abort (httpStatus, percentage), "
                "or remove fault",
                message_id="fault-injects-nothing",
            )
        )
    if delay:
        found += _check_duration(route, delay.get("fixedDelay"), "fault.delay.fixedDelay")
        found += _check_percentage(route, delay, "fault.delay")
    if abort:
        found += _check_percentage(route, abort, "fault.abort")
        if "httpStatus" in abort:
            status = as_int(abort["httpStatus"])
            if status is None or not 200 <= status <= 599:
                found.append(
                    Violation(
                        f"{route.path}.fault.abort.httpStatus",
                        f"fault.abort.httpStatus {scalar_text(abort['httpStatus'])} is outside 200–599",
                        "set fault.abort.httpStatus to an HTTP status, e.g. 503",
                        message_id="abort-status-invalid",
                    )
                )
    return found


def _check_weights(route: Route, entries: list[Any]) -> list[Violation]:
    weights = []
    for entry in entries:  # as_dict() and as_int() inlined for the usual integer weight
        weight = entry.get("weight", 0) if isinstance(entry, dict) else 0
        weights.append(weight if type(weight) is int else as_int(weight))
    found = []
    for j, weight in enumerate(weights):
        if weight is not None and weight < 0:
            host = as_dict(as_dict(entries[j]).get("destination")).get("host") or "(no host)"
            found.append(
                Violation(
                    f"{route.path}.route[{j}].weight",
                    f"weight {weight} of destination {q(host)} in {route.label} is negative",
                    "set the weight to 0 or more (weights are relative)",
                    message_id="weight-negative",
                )
            )
    if len(entries) > 1 and weights.count(0) == len(weights):
        found.append(
            Violation(
                f"{route.path}.route",
                f"all {len(entries)} destinations of {route.label} are weighted 0 (an omitted weight "
                "is 0 when a route has several), so it sends traffic nowhere",
                "give at least one destination a positive weight, e.g. weight: 100 on the first",
                message_id="weights-all-zero",
            )
        )
    return found


@rule(
    code="MW309",
    name="vs-http-policy-invalid",
    kinds=VS_KINDS,
    default=Action.DENY,
    messages={
        "not-a-duration": "a `timeout`, `retries.perTryTimeout` or `fault.delay.fixedDelay` that is not a "
        "Go-style duration",
        "duration-below-1ms": "a `timeout`, `retries.perTryTimeout` or `fault.delay.fixedDelay` shorter "
        "than 1ms",
        "attempts-negative": "`retries.attempts` below 0",
        "retries-disabled-but-configured": "`retries.attempts` 0 (or unset) with `perTryTimeout` or "
        "`retryOn`",
        "retries-exceed-timeout": "`attempts × perTryTimeout` exceeds the route's `timeout` (a warning)",
        "fault-injects-nothing": "a `fault` with neither `delay` nor `abort`",
        "percentage-out-of-range": "a fault delay or abort percentage outside (0, 100]",
        "abort-status-invalid": "a `fault.abort.httpStatus` outside 200–599",
        "weight-negative": "a destination `weight` below 0",
        "weights-all-zero": "a route whose several destinations all weigh 0",
    },
    fixes={"not-a-duration": Safety.SAFE},
    summary="""
        Checks timeouts, retries, fault injection and weights: durations are Go-style and at
        least 1ms; `retries.attempts` is not negative, and not 0 with `perTryTimeout` or
        `retryOn`; a fault has a delay or an abort, percentages in (0, 100] and an abort status
        in 200–599; weights are not negative and not all 0. Warns when
        `attempts × perTryTimeout` exceeds `timeout`.
    """,
    why="""
        Istio rejects most of these at apply time or, worse, accepts a policy that does
        nothing: retries that the route timeout cuts short, a fault that never fires, or a route
        whose destinations all weigh 0 and so receive no traffic.
    """,
    fix="""
        Write durations with a unit (`10s`, `250ms`), keep `attempts × perTryTimeout` within
        `timeout`, give every fault a delay or abort, and give at least one destination a
        positive weight.
    """,
    bad="""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews, namespace: shop}
        spec:
          hosts: ["reviews"]
          http:
          - timeout: "10"
            route:
            - destination: {host: reviews}
    """,
    good="""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews, namespace: shop}
        spec:
          hosts: ["reviews"]
          http:
          - timeout: 10s
            route:
            - destination: {host: reviews}
    """,
)
def vs_http_policy_invalid(vs: Resource, context: Context) -> list[Violation]:
    facts = context.facts(vs)
    found = []
    for route in facts.http:  # most routes set few of these: only those set are checked
        body = route.body
        if "timeout" in body:
            found += _check_duration(route, body["timeout"], "timeout")
        if "retries" in body:
            found += _check_retries(route)
        if "fault" in body:
            found += _check_fault(route)
    for routes in facts.routes.values():
        for route in routes:
            entries = route.body.get("route")
            if not isinstance(entries, list) or not entries:
                continue
            if len(entries) > 1 or (isinstance(entries[0], dict) and "weight" in entries[0]):
                found += _check_weights(route, entries)  # not the usual lone destination, which takes all
    return found
