"""The VirtualService helpers the MW3xx rules build on: gateway references, durations, host forms."""

import pytest

from webhook.istio.hosts import covering_hosts, gateway_host_admits, gateway_host_matches
from webhook.istio.virtualservice import RefForm, as_int, go_nanoseconds, parse_duration, parse_gateway_ref


@pytest.mark.parametrize(
    ("text", "form", "qualified"),
    [
        ("mesh", RefForm.MESH, "/mesh"),
        ("public", RefForm.SHORT, "shop/public"),
        ("istio-system/public", RefForm.QUALIFIED, "istio-system/public"),
        ("./public", RefForm.RELATIVE, "shop/public"),
        ("public.istio-system.svc.cluster.local", RefForm.DOTTED, "istio-system/public"),
        ("public.istio-system", RefForm.DOTTED, "istio-system/public"),
    ],
)
def test_gateway_references_resolve_like_istio(text: str, form: RefForm, qualified: str) -> None:
    ref = parse_gateway_ref(text, "shop", "spec.gateways[0]")
    assert (ref.form, ref.qualified) == (form, qualified)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10s", 10.0),
        ("250ms", 0.25),
        ("1m30s", 90.0),
        ("1.5h", 5400.0),
        ("0", 0.0),
        ("-1s", -1.0),
        ("500us", 5e-4),
    ],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["10", "", "s", "1d", "10 s", "1s2", 10, None, ".s"])
def test_not_go_durations(value: object) -> None:
    assert parse_duration(value) is None


@pytest.mark.parametrize(
    ("text", "nanoseconds"),
    [
        ("1.5h", 5_400_000_000_000),
        ("1h1h", 7_200_000_000_000),
        ("1µs2μs", 3_000),
        ("+.5ms", 500_000),
        ("1.s", 1_000_000_000),
        ("0.0000000019s", 1),  # fractions beyond a nanosecond are cut, as Go does
        ("0." + "0" * 50_000 + "1h", 0),
        ("000000000000000000000000000001ns", 1),
        ("2562047h47m16.854775807s", 2**63 - 1),
        ("-2562047h47m16.854775808s", -(2**63)),
    ],
)
def test_durations_have_the_value_go_gives_them(text: str, nanoseconds: int) -> None:
    assert go_nanoseconds(text) == nanoseconds


@pytest.mark.parametrize(
    "text",
    [
        "2562047h47m16.854775808s",  # one nanosecond more than an int64 holds
        "2562048h",
        "9223372036854775808ns",
        "1" * 5000 + "s",  # more digits than int() converts
        "1..5s",
        "1.5.5s",
        "1s.5",
        "-",
        "+",
        "1sm",
    ],
)
def test_durations_go_refuses(text: str) -> None:
    assert go_nanoseconds(text) is None


@pytest.mark.parametrize(
    ("value", "number"),
    [(80, 80), ("80", 80), (" -1 ", -1), ("0080", 80), ("9" * 19, int("9" * 19)), (True, None), (1.5, None)],
)
def test_integer_fields(value: object, number: int | None) -> None:
    assert as_int(value) == number


@pytest.mark.parametrize("text", ["--5", "²", "٣", "1e3", "", "-", "9" * 20, "9" * 5000])
def test_integer_text_beyond_64_bits_or_not_decimal_is_not_a_number(text: str) -> None:
    assert as_int(text) is None


def test_covering_hosts_lists_every_wildcard_form_once() -> None:
    assert covering_hosts("a.b.com") == ("a.b.com", "*.b.com", "*.com", "*")
    assert covering_hosts("*.b.com") == ("*.b.com", "*.com", "*")
    assert covering_hosts("*") == ("*",)


def test_a_host_longer_than_istio_allows_has_no_wildcard_forms() -> None:
    """Its forms would take memory quadratic in its length: 17 GB for a 256 KiB host."""
    host = "a." * 128 + "com"
    assert covering_hosts(host) == (host,)
    assert len(covering_hosts("a." * 126 + "com")) == 128


@pytest.mark.parametrize(
    ("server_host", "vs_namespace", "admitted"),
    [
        ("shop.example.com", "any", True),
        ("*/shop.example.com", "any", True),
        ("./shop.example.com", "istio-system", True),
        ("./shop.example.com", "shop", False),
        ("shop/shop.example.com", "shop", True),
        ("shop/shop.example.com", "web", False),
    ],
)
def test_server_host_namespace_prefix(server_host: str, vs_namespace: str, admitted: bool) -> None:
    assert gateway_host_admits(server_host, "istio-system", vs_namespace) is admitted


@pytest.mark.parametrize(
    ("vs_host", "server_host", "matches"),
    [
        ("shop.example.com", "*/*.example.com", True),
        ("*.example.com", "shop.example.com", True),
        ("example.com", "*.example.com", False),
        ("shop.example.com", "./*", True),
        ("shop.example.org", "*.example.com", False),
    ],
)
def test_server_host_matching_is_symmetric_wildcard_overlap(
    vs_host: str, server_host: str, matches: bool
) -> None:
    assert gateway_host_matches(vs_host, server_host) is matches
