"""MW306 vs-unreachable-route, MW307 vs-no-default-route, MW309 vs-http-policy-invalid."""

import pytest

from tests.helpers import only, run, said
from webhook.findings import Autofix, Edit, Safety
from webhook.kinds import SERVICE


def vs(routes: str, head: str = "hosts: [reviews]") -> str:
    return f"""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {{name: reviews, namespace: shop}}
        spec:
          {head}
{routes}
    """


ROUTE = "route: [{destination: {host: reviews}}]"


def http(*matches: str, section: str = "http", extra: str = "") -> str:
    """One route per argument: a match list in flow style, or "" for a route without match."""
    lines = [f"          {section}:"]
    for match in matches:
        lines.append(f"          - {ROUTE}" + (f"\n            match: {match}" if match else ""))
        if extra:
            lines.append(f"            {extra}")
    return "\n".join(lines)


def says(manifest: str, code: str) -> list[tuple[str, str]]:
    return said(run(manifest), code)


# --- MW306 ---------------------------------------------------------------------------------------


AFTER_CATCH_ALL = "MW306/after-catch-all"
COVERED = "MW306/match-covered"


@pytest.mark.parametrize(
    ("matches", "message_id"),
    [
        (("", "[{uri: {prefix: /api}}]"), AFTER_CATCH_ALL),
        (("[{}]", "[{uri: {prefix: /api}}]"), AFTER_CATCH_ALL),
        (("[{name: everything}]", "[{uri: {prefix: /api}}]"), AFTER_CATCH_ALL),
        (("[{uri: {prefix: /}}]", "[{headers: {x-user: {exact: a}}}]"), AFTER_CATCH_ALL),
        (("[{uri: {prefix: /api}}]", "[{uri: {prefix: /api}}]"), COVERED),
        (("[{name: a, uri: {prefix: /api}}]", "[{name: b, uri: {prefix: /api}}]"), COVERED),
        (("[{uri: {prefix: /api}}]", "[{uri: {prefix: /api/v2}}]"), COVERED),
        (("[{uri: {prefix: /api}}]", "[{uri: {exact: /api/v2}}]"), COVERED),
        (
            (
                "[{uri: {prefix: /api}, method: {exact: GET}}]",
                "[{uri: {prefix: /api/v2}, method: {exact: GET}}]",
            ),
            COVERED,
        ),
        (
            ("[{uri: {prefix: /a}}, {uri: {prefix: /b}}]", "[{uri: {prefix: /b/c}}, {uri: {exact: /a}}]"),
            COVERED,
        ),
        (("[{port: 8080, uri: {prefix: /a}}]", "[{uri: {exact: /a/b}, port: 8080}]"), COVERED),
    ],
)
def test_routes_that_can_never_match_are_found_once_each(matches: tuple[str, str], message_id: str) -> None:
    findings = only(run(vs(http(*matches))), "MW306")
    assert said(findings) == [(message_id, "spec.http[1]")]
    assert findings[0].action == "warn"


@pytest.mark.parametrize(
    "matches",
    [
        ("[{uri: {prefix: /api/v2}}]", "[{uri: {prefix: /api}}]"),
        ("[{uri: {prefix: /api}, port: 8080}]", "[{uri: {prefix: /api}}]"),
        ("[{uri: {exact: /api}}]", "[{uri: {prefix: /api}}]"),
        (
            "[{uri: {prefix: /api}, method: {exact: GET}}]",
            "[{uri: {prefix: /api/v2}, method: {exact: POST}}]",
        ),
        ("[{uri: {prefix: /api}, headers: {x: {exact: a}}}]", "[{uri: {prefix: /api/v2}}]"),
        ("[{uri: {prefix: /a}}]", "[{uri: {prefix: /a/b}}, {uri: {prefix: /c}}]"),
        ("[{uri: {prefix: /a}}]", ""),
        ("[{uri: {regex: /a.*}}]", "[{uri: {prefix: /a/b}}]"),
        ("[{uri: {prefix: /A}}]", "[{uri: {prefix: /a/b}, ignoreUriCase: true}]"),
        # a later match with a field the earlier one lacks does not have "the same fields", as in Istio
        ("[{port: 8080}]", "[{port: 8080, uri: {prefix: /x}}]"),
        ("[{uri: {prefix: /api}}]", "[{uri: {prefix: /api}, port: 8080}]"),
        ("[{headers: {x: {prefix: a}}}]", "[{headers: {x: {prefix: a}, y: {exact: c}}}]"),
    ],
)
def test_reachable_routes_pass(matches: tuple[str, str]) -> None:
    assert only(run(vs(http(*matches))), "MW306") == []


def test_every_route_after_a_catch_all_is_unreachable_and_the_message_names_them() -> None:
    findings = only(run(vs(http("", "", "[{uri: {prefix: /x}}]"))), "MW306")
    assert said(findings) == [(AFTER_CATCH_ALL, "spec.http[1]"), (AFTER_CATCH_ALL, "spec.http[2]")]
    assert "spec.http[0] before it" in findings[1].message
    assert [f.fix for f in findings] == [
        "move spec.http[1] above spec.http[0], or delete it",
        "move spec.http[2] above spec.http[0], or delete it",
    ]


def test_a_covered_route_names_the_routes_that_cover_it() -> None:
    findings = only(
        run(vs(http("[{uri: {prefix: /a}}]", "[{uri: {prefix: /b}}]", "[{uri: {exact: /b/c}}]"))), "MW306"
    )
    assert said(findings) == [(COVERED, "spec.http[2]")]
    assert findings[0].fix == "move spec.http[2] above spec.http[1], narrow the earlier match, or delete it"


def test_each_match_is_covered_by_the_first_earlier_match_testing_the_same_fields() -> None:
    routes = ("[{uri: {prefix: /a}}]", "[{port: 8080}]", "[{port: 8080}, {uri: {prefix: /a/b}}]")
    findings = only(run(vs(http(*routes))), "MW306")
    assert said(findings) == [(COVERED, "spec.http[2]")]
    assert (
        findings[0].fix
        == "move spec.http[2] above spec.http[1], spec.http[0], narrow the earlier match, or delete it"
    )


def test_match_gateways_narrow_a_route() -> None:
    head = "hosts: [reviews]\n          gateways: [mesh, istio-system/public]"
    narrowed = vs(http("[{gateways: [mesh]}]", ""), head)
    assert only(run(narrowed), "MW306") == []
    all_gateways = vs(http("[{gateways: [mesh, istio-system/public]}]", ""), head)
    assert says(all_gateways, "MW306") == [(AFTER_CATCH_ALL, "spec.http[1]")]


@pytest.mark.parametrize("section", ["tcp", "tls"])
def test_tcp_and_tls_routes_are_checked_too(section: str) -> None:
    duplicate = vs(http("[{port: 31400}]", "[{port: 31400}]", section=section))
    assert says(duplicate, "MW306") == [(COVERED, f"spec.{section}[1]")]
    almost = vs(http("[{port: 31400}]", "[{port: 31400}, {port: 31401}]", section=section))
    assert says(almost, "MW306") == []
    sni = "[{port: 443, sniHosts: [a.example.com, b.example.com]}]"
    covered = vs(http(sni, "[{port: 443, sniHosts: [a.example.com]}]", section=section))
    assert says(covered, "MW306") == [(COVERED, f"spec.{section}[1]")]


# --- MW307 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("routes", "head"),
    [
        (http("[{uri: {prefix: /api}}]", ""), "hosts: [reviews]"),
        (http("[{uri: {prefix: /}}]"), "hosts: [reviews]"),
        (http("[{uri: {prefix: /api}}]", "[{}]"), "hosts: [reviews]"),
        (http("[{gateways: [mesh]}]"), "hosts: [reviews]\n          gateways: [mesh, istio-system/public]"),
        (http("[{uri: {prefix: /api}}]"), "hosts: [reviews]\n          gateways: [istio-system/public]"),
        (http("[{port: 80}]", section="tcp"), "hosts: [reviews]"),
        (
            "          http:\n          - route: [{destination: {host: reviews, subset: v1}, weight: 90}, "
            "{destination: {host: reviews, subset: v2}, weight: 10}]",
            "hosts: [reviews]",
        ),
    ],
)
def test_virtual_services_with_a_default_route_or_not_for_the_mesh_pass(routes: str, head: str) -> None:
    assert only(run(vs(routes, head)), "MW307") == []


@pytest.mark.parametrize(
    "head",
    ["hosts: [reviews]", "hosts: [reviews]\n          gateways: [istio-system/public, mesh]"],
)
def test_mesh_virtual_service_whose_routes_all_match_is_found(head: str) -> None:
    routes = http("[{uri: {prefix: /api}}]", "[{headers: {x-user: {exact: jason}}}]")
    findings = only(run(vs(routes, head)), "MW307")
    assert said(findings) == [("MW307/no-default-route", "spec.http")]
    assert findings[0].action == "warn"
    assert "all 2 http routes have a match" in findings[0].message
    assert "host: reviews" in findings[0].fix


def matched_routes(destinations: list[str]) -> str:
    """One http route per destination, each with its own header match."""
    routes = [
        f"          - match: [{{headers: {{x-user: {{exact: u{i}}}}}}}]\n"
        f"            route: [{{destination: {d}}}]"
        for i, d in enumerate(destinations)
    ]
    return "          http:\n" + "\n".join(routes)


@pytest.mark.parametrize(
    ("destinations", "default", "shown"),
    [
        (
            ["{host: reviews, subset: v2}", "{host: reviews.shop.svc.cluster.local, subset: v1}"],
            {"host": "reviews"},
            "{route: [{destination: {host: reviews}}]}",
        ),
        (
            ["{host: reviews, port: {number: 9080}}"] * 2,
            {"host": "reviews", "port": {"number": 9080}},
            "{route: [{destination: {host: reviews, port: {number: 9080}}}]}",
        ),
    ],
)
def test_the_default_route_to_the_one_host_every_route_sends_to_is_an_unsafe_fix(
    destinations: list[str], default: dict[str, object], shown: str
) -> None:
    routes = matched_routes(destinations)
    [finding] = only(run(vs(routes)), "MW307")
    route = {"route": [{"destination": default}]}
    assert finding.autofix == Autofix(
        f"add the route `{shown}` at the end of spec.http",
        (Edit(("spec", "http", 2), None, route),),
        Safety.UNSAFE,
    )
    assert finding.fix == f"end spec.http with a route without match: `- {shown}`"
    assert len({finding, finding}) == 1, "reports key notes by finding, a map in an edit included"


@pytest.mark.parametrize(
    ("head", "destinations"),
    [
        ("hosts: [reviews]", ["{host: reviews}", "{host: ratings}"]),  # which one?
        ("hosts: [reviews, ratings]", ["{host: reviews}", "{host: reviews}"]),  # ratings is not sent there
        ("hosts: [reviews]", ["{host: reviews-v2}", "{host: reviews-v2}"]),  # not the host it is for
        ("hosts: [reviews]", ["{host: reviews, port: {number: 9080}}", "{host: reviews}"]),  # which port?
    ],
)
def test_no_default_route_fix_when_the_route_is_not_certain(head: str, destinations: list[str]) -> None:
    routes = matched_routes(destinations)
    [finding] = only(run(vs(routes, head)), "MW307")
    assert finding.autofix is None
    assert "e.g." in finding.fix


def test_match_restricted_to_another_gateway_is_no_default_for_the_mesh() -> None:
    head = "hosts: [reviews]\n          gateways: [mesh, istio-system/public]"
    assert says(vs(http("[{gateways: [istio-system/public]}]"), head), "MW307") == [
        ("MW307/no-default-route", "spec.http")
    ]


def service(ports: str, name: str = "reviews", namespace: str = "shop") -> str:
    return f"""
        apiVersion: v1
        kind: Service
        metadata: {{name: {name}, namespace: {namespace}}}
        spec:
          selector: {{app: {name}}}
          ports: {ports}
    """


GOOGLEAPIS = """
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: googleapis, namespace: shop}
    spec:
      hosts: [www.googleapis.com]
      ports: [{number: 80, name: http, protocol: HTTP}, {number: 443, name: https, protocol: HTTPS}]
      resolution: DNS
"""


@pytest.mark.parametrize(
    ("routes", "world"),
    [
        (http("[{port: 9080}]"), service("[{name: http, port: 9080}]")),
        (http("[{port: 9080, uri: {prefix: /}}]"), service("[{name: http-web, port: 9080}]")),
        (
            http("[{port: 80}]", "[{port: 50051}]"),
            service("[{name: http, port: 80}, {name: grpc, port: 50051}, {name: tcp-db, port: 5432}]"),
        ),
        (http("[{port: 80}, {port: 81}]"), service("[{name: http, port: 80}, {name: http2, port: 81}]")),
        (http("[{port: 8080}]"), service("[{name: web, port: 8080, appProtocol: http}, {port: 9000}]")),
        (
            http("[{port: 8080}]"),
            service("[{name: http, port: 8080}, {name: http-dns, port: 53, protocol: UDP}]"),
        ),
        (
            http("[{port: 8080}]"),
            service("[{name: http, port: 8080}, {name: http-x, port: 81, appProtocol: tcp}]"),
        ),
    ],
    ids=[
        "one-port",
        "prefix-slash",
        "two-routes",
        "one-route",
        "app-protocol",
        "udp-ignored",
        "app-protocol-wins",
    ],
)
def test_port_matches_covering_every_http_port_count_as_no_match(routes: str, world: str) -> None:
    assert only(run(vs(routes), context=world), "MW307") == []


def test_port_match_covering_the_service_entrys_only_http_port_counts_as_no_match() -> None:
    routes = """
          http:
          - match: [{port: 80}]
            route: [{destination: {host: www.googleapis.com, port: {number: 443}}}]"""
    assert only(run(vs(routes, "hosts: [www.googleapis.com]"), context=GOOGLEAPIS), "MW307") == []


@pytest.mark.parametrize(
    ("routes", "world", "message_id", "left_out"),
    [
        (
            http("[{port: 9080}]"),
            service("[{name: http, port: 9080}, {name: http-admin, port: 9081}]"),
            "MW307/http-port-left-out",
            "9081",
        ),
        (
            http("[{port: 9080, headers: {x-user: {exact: a}}}]"),
            service("[{name: http, port: 9080}]"),
            "MW307/no-default-route",
            "",
        ),
        (http("[{port: 9080}]"), "", "MW307/ports-unknown", ""),
        (
            http("[{port: 8080}]"),
            service("[{name: http, port: 8080}, {name: tcp-x, port: 81, appProtocol: http}]"),
            "MW307/http-port-left-out",
            "81",
        ),
        (
            http("[{port: 8080}]"),
            service("[{name: http, port: 8080}, {name: grpc-web, port: 81}]"),
            "MW307/http-port-left-out",
            "81",
        ),
        (
            http("[{port: 9080}]"),
            service("[{name: http, port: 9080}]", name="ratings"),
            "MW307/ports-unknown",
            "",
        ),
    ],
    ids=["port-left-out", "port-and-header", "no-service", "app-protocol-http", "grpc-web", "other-service"],
)
def test_port_matches_that_leave_an_http_port_out_are_found(
    routes: str, world: str, message_id: str, left_out: str
) -> None:
    findings = only(run(vs(routes), context=world), "MW307")
    assert said(findings) == [(message_id, "spec.http")]
    assert findings[0].fix.endswith(f", or match port {left_out} too") == bool(left_out)


def test_port_matches_of_an_unknown_host_rest_on_its_absence() -> None:
    findings = only(run(vs(http("[{port: 9080}]"))), "MW307")
    assert [(m.kind, m.namespace, m.name) for m in findings[0].missing] == [(SERVICE, "shop", "reviews")]
    assert only(run(vs(http("[{uri: {prefix: /api}}]"))), "MW307")[0].missing == ()


# --- MW309 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "policy",
    [
        "timeout: 10s",
        "timeout: 1ms",
        "timeout: 1m30s",
        "timeout: 1.5s",
        "retries: {attempts: 3, perTryTimeout: 2s, retryOn: 5xx}",
        "retries: {attempts: 0}",
        "retries: {attempts: 3, perTryTimeout: 2s}\n            timeout: 6s",
        "fault: {delay: {fixedDelay: 5s, percentage: {value: 100}}}",
        "fault: {abort: {httpStatus: 503, percentage: {value: 0.1}}}",
        "fault: {abort: {grpcStatus: UNAVAILABLE}}",
    ],
)
def test_valid_http_policies_pass(policy: str) -> None:
    assert only(run(vs(http("", extra=policy))), "MW309") == []


@pytest.mark.parametrize(
    ("policy", "message_id", "path", "fix_part"),
    [
        ("timeout: 10", "not-a-duration", "spec.http[0].timeout", '"10s"'),
        ('timeout: "10"', "not-a-duration", "spec.http[0].timeout", '"10s"'),
        ("timeout: 0s", "duration-below-1ms", "spec.http[0].timeout", '"10s"'),
        ("timeout: 500us", "duration-below-1ms", "spec.http[0].timeout", '"10s"'),
        ("timeout: 10 s", "not-a-duration", "spec.http[0].timeout", '"10s"'),
        (
            "retries: {attempts: 2, perTryTimeout: 1d}",
            "not-a-duration",
            "spec.http[0].retries.perTryTimeout",
            "set retries.perTryTimeout",
        ),
        ("retries: {attempts: -1}", "attempts-negative", "spec.http[0].retries.attempts", "0 (no retries)"),
        (
            "retries: {attempts: 0, perTryTimeout: 2s}",
            "retries-disabled-but-configured",
            "spec.http[0].retries.attempts",
            "e.g. 3",
        ),
        ("retries: {retryOn: 5xx}", "retries-disabled-but-configured", "spec.http[0].retries", "e.g. 3"),
        ("fault: {}", "fault-injects-nothing", "spec.http[0].fault", "fault.delay"),
        (
            "fault: {delay: {fixedDelay: 0.5ms}}",
            "duration-below-1ms",
            "spec.http[0].fault.delay.fixedDelay",
            "set fault.delay.fixedDelay",
        ),
        (
            "fault: {delay: {fixedDelay: 1s, percentage: {value: 0}}}",
            "percentage-out-of-range",
            "spec.http[0].fault.delay.percentage.value",
            "set fault.delay.percentage",
        ),
        (
            "fault: {abort: {httpStatus: 503, percentage: {value: 150}}}",
            "percentage-out-of-range",
            "spec.http[0].fault.abort.percentage.value",
            "set fault.abort.percentage",
        ),
        (
            "fault: {abort: {httpStatus: 600}}",
            "abort-status-invalid",
            "spec.http[0].fault.abort.httpStatus",
            "e.g. 503",
        ),
        (
            "fault: {abort: {httpStatus: 199}}",
            "abort-status-invalid",
            "spec.http[0].fault.abort.httpStatus",
            "e.g. 503",
        ),
    ],
)
def test_invalid_http_policies_are_denied(policy: str, message_id: str, path: str, fix_part: str) -> None:
    findings = only(run(vs(http("", extra=policy))), "MW309")
    assert said(findings) == [(f"MW309/{message_id}", path)]
    assert findings[0].action == "deny"
    assert fix_part in findings[0].fix


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ('"5"', "5s"),
        ("5", "5s"),
        ('"1.5"', "1.5s"),
        ("10 s", "10s"),
        ("10 sec", "10s"),
        ("250 milliseconds", "250ms"),
        ("2min", "2m"),
        ("1H", "1h"),
        ("300MS", "300ms"),
    ],
)
def test_a_duration_with_one_meaning_is_fixed_to_it(written: str, meant: str) -> None:
    [finding] = only(run(vs(http("", extra=f"timeout: {written}"))), "MW309")
    value = written.strip('"') if written.startswith('"') else written
    old = int(value) if value.isdigit() and not written.startswith('"') else value
    assert finding.autofix == Autofix(
        f'set spec.http[0].timeout to "{meant}"',
        (Edit(("spec", "http", 0, "timeout"), old, meant),),
        Safety.SAFE,
    )
    assert finding.fix == f'set timeout to "{meant}"'


@pytest.mark.parametrize(
    ("policy", "path"),
    [
        ("retries: {attempts: 2, perTryTimeout: '2'}", ("spec", "http", 0, "retries", "perTryTimeout")),
        (
            "fault: {delay: {fixedDelay: 3, percentage: {value: 10}}}",
            ("spec", "http", 0, "fault", "delay", "fixedDelay"),
        ),
    ],
)
def test_every_duration_field_is_fixed_in_place(policy: str, path: tuple[str | int, ...]) -> None:
    [finding] = only(run(vs(http("", extra=policy))), "MW309")
    assert finding.autofix is not None
    assert [edit.path for edit in finding.autofix.edits] == [path]


@pytest.mark.parametrize("written", ["10M", "1d", "ten", "-5", '"0"', "0.0001", "5x", "1e3", "0.5s0", "١٠"])
def test_no_duration_fix_when_the_meaning_is_not_certain(written: str) -> None:
    findings = only(run(vs(http("", extra=f"timeout: {written}"))), "MW309")
    assert findings and [f.autofix for f in findings] == [None]
    assert 'e.g. "10s"' in findings[0].fix


def test_retries_that_the_timeout_cuts_short_are_a_warning() -> None:
    manifest = vs(http("", extra="retries: {attempts: 3, perTryTimeout: 2s}\n            timeout: 5s"))
    findings = only(run(manifest), "MW309")
    assert said(findings) == [("MW309/retries-exceed-timeout", "spec.http[0].retries")]
    assert findings[0].action == "warn"
    assert '"1666ms"' in findings[0].fix
    assert [f.action for f in only(run(manifest, policy="profile: strict"), "MW309")] == ["deny"]


def test_one_finding_per_offending_field() -> None:
    fault = "fault: {delay: {fixedDelay: 0s, percentage: {value: 0}}, abort: {httpStatus: 42}}"
    policy = f"timeout: 0s\n            {fault}"
    assert said(run(vs(http("", extra=policy))), "MW309") == [
        ("MW309/duration-below-1ms", "spec.http[0].timeout"),
        ("MW309/duration-below-1ms", "spec.http[0].fault.delay.fixedDelay"),
        ("MW309/percentage-out-of-range", "spec.http[0].fault.delay.percentage.value"),
        ("MW309/abort-status-invalid", "spec.http[0].fault.abort.httpStatus"),
    ]


@pytest.mark.parametrize("section", ["http", "tcp", "tls"])
def test_weights(section: str) -> None:
    def weighted(*weights: str) -> str:
        targets = ", ".join(
            f"{{destination: {{host: reviews, subset: v{i}}}{w}}}" for i, w in enumerate(weights)
        )
        return vs(f"          {section}:\n          - route: [{targets}]")

    all_zero = [("MW309/weights-all-zero", f"spec.{section}[0].route")]
    assert says(weighted(", weight: 0", ", weight: 0"), "MW309") == all_zero
    assert says(weighted("", ""), "MW309") == all_zero
    assert says(weighted(", weight: -5", ", weight: 10"), "MW309") == [
        ("MW309/weight-negative", f"spec.{section}[0].route[0].weight")
    ]
    assert says(weighted(", weight: 0", ""), "MW309") == all_zero
    assert says(weighted(", weight: 90", ", weight: 10"), "MW309") == []
    assert says(weighted(", weight: 1", ""), "MW309") == []
    assert says(weighted(""), "MW309") == []
    assert says(weighted(", weight: 0"), "MW309") == []
