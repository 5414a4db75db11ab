"""The VirtualService helpers the MW3xx rules build on: gateway references, durations, host forms."""

import pytest

from webhook.istio.hosts import MAX_HOST_LENGTH, covering_hosts, gateway_host_admits, gateway_host_matches
from webhook.istio.virtualservice import RefForm, parse_duration, parse_gateway_ref


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


def test_covering_hosts_lists_every_wildcard_form_once() -> None:
    assert covering_hosts("a.b.com") == ["a.b.com", "*.b.com", "*.com", "*"]
    assert covering_hosts("*.b.com") == ["*.b.com", "*.com", "*"]
    assert covering_hosts("*") == ["*"]


def test_covering_hosts_of_a_long_host_leaves_out_wildcards_longer_than_istio_allows() -> None:
    host = "a." * 100_000 + "example.com"
    forms = covering_hosts(host)
    assert forms[0] == host
    assert forms[-3:] == ["*.example.com", "*.com", "*"]
    assert all(len(form) <= MAX_HOST_LENGTH for form in forms[1:])
    assert len(forms) == 2 + (MAX_HOST_LENGTH - 1 - len(".example.com")) // 2 + 2


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
